"""How the project's processes serve: ASGI apps on loopback sockets, and their event loop."""
