"""``medcam-console doctor``: checks every configured endpoint and says what to fix."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import httpx

from console.clients.camunda_rest import CamundaRest
from console.clients.errors import BackendError, display_url
from console.clients.medusa import MedusaAdmin
from console.clients.oauth import ClientCredentialsAuth, TokenError
from console.clients.zeebe import DEFAULT_TOKEN_URL, ZeebeGateway, ZeebeTarget
from console.embedded import running_endpoints
from console.settings import Settings

#: Seconds each network check may take.
CHECK_TIMEOUT_S = 5.0
OK, FAIL, SKIP = "OK", "FAIL", "SKIP"
START_EMBEDDED = "run `medcam-console` (it starts them) or `medcam-console engine`"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the doctor's table."""

    check: str
    result: str
    reason: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def doctor_table(results: list[CheckResult]) -> str:
    """The results as one aligned text table."""
    rows = [("CHECK", "RESULT", "REASON", "FIX")] + [(r.check, r.result, r.reason, r.fix or "-") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    )


class Doctor:
    """Runs the checks for one set of settings; nothing is written anywhere."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.results: list[CheckResult] = []

    def _add(self, check: str, result: str, reason: str, fix: str = "") -> None:
        self.results.append(CheckResult(check, result, reason, fix))

    async def run(self) -> list[CheckResult]:
        s = self.s
        running = await running_endpoints("127.0.0.1", s.engine_grpc_port, s.engine_rest_port, s.shop_port)
        await self._zeebe(running.zeebe_address is not None)
        await self._rest(running.zeebe_address is not None)
        medusa_ok = await self._medusa(running.medusa_url is not None)
        await self._callback_route(medusa_ok)
        await self._slack()
        return self.results

    # ------------------------------------------------------------------ Zeebe
    def _target(self) -> ZeebeTarget:
        s = self.s
        return ZeebeTarget(
            address=s.zeebe_address or (f"127.0.0.1:{s.engine_grpc_port}" if not s.camunda_cluster_id else None),
            client_id=s.zeebe_client_id,
            client_secret=s.zeebe_client_secret.get_secret_value() if s.zeebe_client_secret else None,
            authorization_server=s.zeebe_authorization_server_url,
            audience=s.zeebe_token_audience,
            scope=s.zeebe_token_scope,
            cluster_id=s.camunda_cluster_id,
            region=s.camunda_cluster_region,
        )

    def _oauth(self) -> ClientCredentialsAuth | None:
        s = self.s
        if not (s.zeebe_client_id and s.zeebe_client_secret):
            return None
        return ClientCredentialsAuth(
            s.zeebe_authorization_server_url or DEFAULT_TOKEN_URL, s.zeebe_client_id,
            s.zeebe_client_secret.get_secret_value(), audience=s.zeebe_token_audience or "zeebe.camunda.io",
            scope=s.zeebe_token_scope,
        )

    async def _zeebe(self, embedded_running: bool) -> None:
        s = self.s
        target = self._target()
        if s.embedded_engine and not s.camunda_cluster_id and not embedded_running:
            self._add("Zeebe topology", FAIL,
                      f"ZEEBE_ADDRESS is not set and the embedded engine is not running on {target.describe()}",
                      f"{START_EMBEDDED}, or set ZEEBE_ADDRESS")
            return
        auth = self._oauth()
        if auth is not None:
            token_url = display_url(s.zeebe_authorization_server_url or DEFAULT_TOKEN_URL)
            try:
                await asyncio.wait_for(_token(auth), CHECK_TIMEOUT_S)
            except (TokenError, TimeoutError) as exc:
                self._add("Zeebe auth", FAIL, f"{token_url}: {str(exc) or 'timed out'}",
                          "check ZEEBE_CLIENT_ID, ZEEBE_CLIENT_SECRET, ZEEBE_AUTHORIZATION_SERVER_URL, "
                          "ZEEBE_TOKEN_AUDIENCE")
                return
            self._add("Zeebe auth", OK, f"OAuth token from {token_url}")
        gateway = ZeebeGateway(target.channel_factory()(), request_timeout_s=CHECK_TIMEOUT_S)
        try:
            topology = await gateway.topology()
        except BackendError as exc:
            if exc.code == "UNAUTHENTICATED" or exc.code == "PERMISSION_DENIED":
                fix = "check the client credentials and that the client may use Zeebe"
            else:
                fix = "check ZEEBE_ADDRESS (host:port of the gateway) and that the gateway runs"
            self._add("Zeebe topology", FAIL, f"{target.describe()}: {exc}", fix)
            return
        finally:
            with contextlib.suppress(Exception):
                await gateway.close()
        partitions = sum(len(b.partitions) for b in topology.brokers)
        what = "embedded engine" if s.embedded_engine else "gateway"
        self._add("Zeebe topology", OK, f"{what} {target.describe()}: {len(topology.brokers)} broker(s), "
                                        f"{partitions} partition(s), version {topology.gatewayVersion or '?'}")

    def _rest_url(self) -> str | None:
        s = self.s
        if s.zeebe_rest_address:
            return s.zeebe_rest_address
        if s.embedded_engine and not s.camunda_cluster_id:
            return f"http://127.0.0.1:{s.engine_rest_port}"
        if s.camunda_cluster_id and s.camunda_cluster_region:
            return f"https://{s.camunda_cluster_region}.zeebe.camunda.io/{s.camunda_cluster_id}"
        return None

    async def _rest(self, embedded_running: bool) -> None:
        url = self._rest_url()
        if url is None:
            self._add("Camunda REST v2", FAIL, "ZEEBE_REST_ADDRESS is not set: incidents cannot be listed or retried",
                      "set ZEEBE_REST_ADDRESS (self-managed: http://host:8080)")
            return
        if self.s.embedded_engine and not self.s.camunda_cluster_id and not embedded_running:
            self._add("Camunda REST v2", FAIL, f"the embedded engine is not running ({url})", START_EMBEDDED)
            return
        rest = CamundaRest(url, auth=self._oauth(), timeout_s=CHECK_TIMEOUT_S)
        try:
            await rest.topology()
        except (BackendError, httpx.HTTPError) as exc:
            fix = ("check the client credentials" if "401" in str(exc) or "403" in str(exc)
                   else "check ZEEBE_REST_ADDRESS (the REST API's base URL, without /v2)")
            self._add("Camunda REST v2", FAIL, f"{display_url(url)}/v2/topology: {exc}", fix)
        else:
            self._add("Camunda REST v2", OK, f"{display_url(url)}/v2/topology answers")
        finally:
            await rest.close()

    # ------------------------------------------------------------------ Medusa
    def _medusa_url(self) -> str:
        return self.s.medusa_backend_url or f"http://127.0.0.1:{self.s.shop_port}"

    def _medusa_client(self) -> MedusaAdmin:
        s = self.s
        api_key = s.medusa_api_key.get_secret_value() if s.medusa_api_key else None
        email = None if s.embedded_shop else s.medusa_admin_email
        password = s.medusa_admin_password.get_secret_value() if email and s.medusa_admin_password else None
        return MedusaAdmin(self._medusa_url(), api_key=api_key, admin_email=email, admin_password=password)

    async def _medusa(self, embedded_running: bool) -> bool:
        s = self.s
        url = display_url(self._medusa_url())
        if s.embedded_shop and not embedded_running:
            self._add("Medusa reachable", FAIL,
                      f"MEDUSA_BACKEND_URL is not set and the embedded shop is not running on {url}",
                      f"{START_EMBEDDED}, or set MEDUSA_BACKEND_URL")
            return False
        medusa = self._medusa_client()
        try:
            if not await asyncio.wait_for(medusa.health(), CHECK_TIMEOUT_S):
                self._add("Medusa reachable", FAIL, f"{url}/health does not answer 200",
                          "check MEDUSA_BACKEND_URL and that Medusa runs")
                return False
            self._add("Medusa reachable", OK, f"{url}/health answers 200")
            try:
                _, count = await asyncio.wait_for(medusa.list_orders(limit=1), CHECK_TIMEOUT_S)
            except (BackendError, httpx.HTTPError, TimeoutError) as exc:
                self._add("Medusa auth", FAIL, f"GET /admin/orders: {str(exc) or 'timed out'}", _medusa_auth_fix(s))
                return True
            how = ("API key" if s.medusa_api_key else
                   "admin login" if s.medusa_admin_email and not s.embedded_shop else "no credentials")
            self._add("Medusa auth", OK, f"Admin API answers with {how} ({count} orders)")
            return True
        except TimeoutError:
            self._add("Medusa reachable", FAIL, f"{url}/health timed out after {CHECK_TIMEOUT_S:g} s",
                      "check MEDUSA_BACKEND_URL and the network path to Medusa")
            return False
        finally:
            await medusa.close()

    async def _callback_route(self, medusa_ok: bool) -> None:
        if self.s.callback_mode == "admin":
            self._add("Callback route", SKIP, "MEDCAM_CALLBACK_MODE=admin: status updates go through the Admin API")
            return
        url = display_url(self._medusa_url())
        if not medusa_ok:
            self._add("Callback route", FAIL, f"{url}/demo not checked: Medusa is not reachable", "see above")
            return
        try:
            async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_S) as http:
                response = await http.get(f"{self._medusa_url()}/demo")  # a health check, never a write
        except httpx.HTTPError as exc:
            self._add("Callback route", FAIL, f"GET {url}/demo: {type(exc).__name__}", "check MEDUSA_BACKEND_URL")
            return
        if response.status_code == 200:
            self._add("Callback route", OK, f"GET {url}/demo answers 200")
        else:
            self._add("Callback route", FAIL, f"GET {url}/demo answers {response.status_code}",
                      "add the seed's /demo route to Medusa, or set MEDCAM_CALLBACK_MODE=admin")

    # ------------------------------------------------------------------ Slack
    async def _slack(self) -> None:
        webhook = self.s.slack_webhook_url.get_secret_value() if self.s.slack_webhook_url else None
        if not webhook:
            self._add("Slack webhook", SKIP, "SLACK_WEBHOOK_URL is not set: no Slack messages")
            return
        self._add(*await slack_reachability(webhook))


async def slack_reachability(webhook: str) -> tuple[str, str, str, str]:
    """DNS and a TLS handshake to the webhook's host, without posting. Never names the URL's path."""
    check = "Slack webhook"
    parts = urlsplit(webhook)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host:
        return check, FAIL, "SLACK_WEBHOOK_URL is not an https:// URL", "copy the webhook URL from Slack's app settings"
    try:
        port = parts.port or 443
    except ValueError:
        return check, FAIL, "SLACK_WEBHOOK_URL has a bad port", "copy the webhook URL from Slack's app settings"
    where = f"{host}:{port}"
    loop = asyncio.get_running_loop()
    try:
        addresses = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), CHECK_TIMEOUT_S)
    except (socket.gaierror, TimeoutError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "timed out"
        return check, FAIL, f"DNS: cannot resolve {host} ({reason})", "check DNS and any proxy on this host"
    context = ssl.create_default_context()
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host), CHECK_TIMEOUT_S)
    except ssl.SSLCertVerificationError as exc:
        return check, FAIL, f"TLS to {where}: certificate not trusted ({exc.verify_message})", \
            "check the system's CA certificates (SSL_CERT_FILE) or a TLS-intercepting proxy"
    except ssl.SSLError as exc:
        return check, FAIL, f"TLS to {where}: handshake failed ({exc.reason or exc})", "check the URL's host and port"
    except ConnectionRefusedError:
        return check, FAIL, f"TCP to {where}: connection refused", "check the URL's host and port, and the firewall"
    except (OSError, TimeoutError) as exc:
        reason = getattr(exc, "strerror", None) or "timed out"
        return check, FAIL, f"TCP to {where}: {reason}", "check the network path (firewall, proxy)"
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return check, OK, f"{host} resolves ({len(addresses)} address(es)); TLS handshake ok; nothing posted"


async def _token(auth: ClientCredentialsAuth) -> None:
    """Fetch a token through the auth's own flow (raises TokenError)."""
    flow = auth.async_auth_flow(httpx.Request("GET", "http://token-check.invalid/"))
    await flow.__anext__()
    await flow.aclose()


def _medusa_auth_fix(s: Settings) -> str:
    if s.medusa_api_key:
        return "MEDUSA_API_KEY was refused: create a secret API key in Medusa's admin and set it"
    if s.medusa_admin_email and not s.embedded_shop:
        return "check MEDUSA_ADMIN_EMAIL and MEDUSA_ADMIN_PASSWORD"
    return "set MEDUSA_API_KEY (a secret API key) or MEDUSA_ADMIN_EMAIL and MEDUSA_ADMIN_PASSWORD"


async def run_doctor(settings: Settings) -> list[CheckResult]:
    """Every check, in order: Zeebe, REST v2, Medusa, callback route, Slack."""
    return await Doctor(settings).run()
