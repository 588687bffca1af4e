"""Wires the console together: backends (embedded or real), clients, workers, feeds, store."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import grpc

from bpmn import PROCESSES
from console.backend_monitor import BackendMonitor, reason_of
from console.bus import EventBus
from console.claims import default_console_id
from console.clients.camunda_rest import CamundaRest
from console.clients.errors import BackendError
from console.clients.medusa import MedusaAdmin
from console.clients.oauth import ClientCredentialsAuth
from console.clients.zeebe import DEFAULT_TOKEN_URL, ZeebeGateway, ZeebeTarget
from console.demo_faults import FaultSwitch
from console.demo_orders import DemoOrderMaker
from console.embedded import EmbeddedError, EmbeddedServices, Endpoints, running_endpoints
from console.events import BackendStatus, ConsoleSetup, DemoFaults, OrderSeen
from console.fulfillment import AutoStarter, FulfillmentService
from console.heap import HeapSettler, tune_collector
from console.incident_poller import IncidentPoller
from console.metrics import FulfillmentMetrics, MetricsEndpoint
from console.order_feed import OrderFeed
from console.orders import OrderSummary
from console.reconciler import Reconciler
from console.settings import Settings
from console.state import ConsoleState
from console.store import LocalStore
from console.stuck import StuckWatch
from workers.order_gate import OrderGate
from workers.runner import FulfillmentWorkers
from workers.stages import STAGE_BY_TYPE, STAGES

log = logging.getLogger(__name__)

#: A named long-running coroutine the console runs in the background (not a Zeebe job).
#: How often stuck orders are looked for.
STUCK_SCAN_S = 1.0

BackgroundJob = tuple[str, Callable[[], Awaitable[None]]]


class StartupError(Exception):
    """The console cannot start; ``str()`` is one line for the operator."""


class ConsoleRuntime:
    """Everything behind the screens; also drives the headless ``workers`` and ``bench`` commands."""

    def __init__(
        self,
        settings: Settings,
        *,
        workers: bool = True,
        auto_start: bool | None = None,
        feeds: bool = True,
        now: Callable[[], datetime] | None = None,
        spawn: bool = True,
        deploy: bool = True,
        wait_for_backends: bool = False,
        drift_repair: bool = True,
    ) -> None:
        self.settings = settings
        #: Open even when Zeebe or Medusa does not answer yet, and connect when they do
        #: (the TUI); headless commands fail at once with StartupError instead.
        self.wait_for_backends = wait_for_backends
        self.with_workers = workers
        self.auto_start = settings.auto_start if auto_start is None else auto_start
        self.with_feeds = feeds
        #: False: use the embedded engine and shop only if they already run (the CLI verbs).
        self.spawn = spawn
        self.deploy = deploy
        #: The BPMN file deployed and the process id started (MEDCAM_PROCESS).
        self.bpmn_file, self.process_id = PROCESSES[settings.process]
        self.drift_repair = drift_repair
        #: Serialises each order's metadata writes between the console and its workers.
        self.gate = OrderGate()
        self.now = now or (lambda: datetime.now(UTC))
        self.bus = EventBus()
        self.state = ConsoleState()
        self.store = LocalStore(settings.data_dir / "console.sqlite3", user=_os_user(),
                                console_id=settings.console_id or default_console_id())
        self.bus.subscribe(self.state.apply)
        self.bus.subscribe(self.store.record)
        self.stuck = StuckWatch(settings.stuck_min_s, settings.stuck_factor)
        self.heap = HeapSettler(lambda: len(self.state.orders))
        tune_collector()
        self.bus.subscribe(self.stuck.observe)
        self.faults: FaultSwitch | None = None
        self.embedded: EmbeddedServices | None = None
        self.endpoints: Endpoints | None = None
        self.zeebe: ZeebeGateway | None = None
        self.rest: CamundaRest | None = None
        self.medusa: MedusaAdmin | None = None
        self.fulfillment: FulfillmentService | None = None
        self.feed: OrderFeed | None = None
        self.incidents: IncidentPoller | None = None
        self.workers: FulfillmentWorkers | None = None
        self.demo: DemoOrderMaker | None = None
        self.auto_starter: AutoStarter | None = None
        self.metrics: MetricsEndpoint | None = None
        #: Jobs the workers gave back unfinished when they stopped.
        self.handed_back = 0
        self.monitor: BackendMonitor | None = None
        self.reconciler: Reconciler | None = None
        self._target: ZeebeTarget | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ start / stop
    async def start(self) -> None:
        """Connect to (or start) every backend and deploy the process. Raises StartupError."""
        s = self.settings
        if (s.embedded_engine or s.embedded_shop) and not self.spawn:
            found = await self._running_embedded()
        elif s.embedded_engine or s.embedded_shop:
            self.embedded = EmbeddedServices(
                s.data_dir / "embedded",
                engine=s.embedded_engine,
                shop=s.embedded_shop,
                grpc_port=s.engine_grpc_port,
                rest_port=s.engine_rest_port,
                shop_port=s.shop_port,
                log_level=s.log_level,
                callback_secret=s.callback_secret.get_secret_value() if s.callback_secret else None,
                api_key=s.medusa_api_key.get_secret_value() if s.medusa_api_key else None,
                callback_fail_rate=s.demo_callback_fail_rate,
                decline_rate=s.demo_decline_rate,
                demo_seed=s.demo_seed,
            )
            try:
                found = await self.embedded.start()
            except EmbeddedError as exc:
                raise StartupError(str(exc)) from None
        else:
            found = Endpoints(None, None, None)
        zeebe_address = s.zeebe_address or found.zeebe_address
        rest_url = s.zeebe_rest_address or found.zeebe_rest_url or _rest_url_for(s)
        medusa_url = s.medusa_backend_url or found.medusa_url
        assert medusa_url is not None
        self.endpoints = Endpoints(zeebe_address, rest_url, medusa_url)

        secret = s.zeebe_client_secret.get_secret_value() if s.zeebe_client_secret else None
        self._target = ZeebeTarget(
            address=zeebe_address,
            client_id=s.zeebe_client_id,
            client_secret=secret,
            authorization_server=s.zeebe_authorization_server_url,
            audience=s.zeebe_token_audience,
            scope=s.zeebe_token_scope,
            cluster_id=s.camunda_cluster_id,
            region=s.camunda_cluster_region,
        )
        if not zeebe_address and not s.camunda_cluster_id:
            raise StartupError("ZEEBE_ADDRESS or CAMUNDA_CLUSTER_ID is needed to reach Camunda")
        self.zeebe = ZeebeGateway(self._target.channel_factory()())
        auth = None
        if self._target.uses_oauth and secret and s.zeebe_client_id:
            auth = ClientCredentialsAuth(
                s.zeebe_authorization_server_url or DEFAULT_TOKEN_URL,
                s.zeebe_client_id,
                secret,
                audience=s.zeebe_token_audience or "zeebe.camunda.io",
                scope=s.zeebe_token_scope,
            )
        self.rest = CamundaRest(rest_url, auth=auth) if rest_url else None
        api_key = s.medusa_api_key.get_secret_value() if s.medusa_api_key else None
        # The admin login is a real Medusa's (MEDUSA_BACKEND_URL); the embedded shop has no
        # admin user, only the optional MEDUSA_API_KEY. MedusaAdmin prefers the API key.
        email = None if s.embedded_shop else s.medusa_admin_email
        password = s.medusa_admin_password.get_secret_value() if email and s.medusa_admin_password else None
        if s.medusa_admin_email and s.embedded_shop:
            log.info("MEDUSA_ADMIN_EMAIL/MEDUSA_ADMIN_PASSWORD are not used with the embedded shop")
        self.medusa = MedusaAdmin(medusa_url, api_key=api_key, admin_email=email, admin_password=password)

        self.monitor = BackendMonitor(
            self.zeebe, self.medusa, self.bus, zeebe_label=self._target.describe(),
            on_zeebe_up=self._deploy if self.deploy else None, now=self.now,
        )
        self.bus.subscribe(self.monitor.observe)
        try:
            step = f"reach Zeebe at {self._target.describe()}"
            await self.zeebe.topology()
            step = f"deploy {self.bpmn_file.name}"
            if self.deploy:
                await self._deploy()
        except BackendError as exc:
            if not self.wait_for_backends:
                raise StartupError(f"cannot {step}: {exc}") from None
            self._status("zeebe", False, reason_of(exc))
            log.warning("Zeebe is not reachable yet; the console connects when it answers",
                        extra={"zeebe": self._target.describe(), "error": str(exc)})
        else:
            self._status("zeebe", True, self._target.describe())
        if await self.medusa.health():
            self._status("medusa", True, self.medusa.base_url)
        elif self.wait_for_backends:
            self._status("medusa", False, "GET /health failed")
            log.warning("Medusa is not reachable yet; the console connects when it answers",
                        extra={"medusa": self.medusa.base_url})
        else:
            raise StartupError(f"cannot reach Medusa at {self.medusa.base_url} (GET /health failed)")
        log.info(
            "console connected" if self.monitor.zeebe_up and self.monitor.state["medusa"] else "console started",
            extra={"zeebe": self._target.describe(), "zeebe_rest": self.rest.base_url if self.rest else None,
                   "medusa": self.medusa.base_url,
                   "embedded": ",".join(
                       c for c, on in (("engine", s.embedded_engine), ("shop", s.embedded_shop)) if on)},
        )

        self.fulfillment = FulfillmentService(
            self.zeebe, self.rest or _NoRest(), self.medusa, self.bus, now=self.now,
            console_id=s.console_id, claim_settle_s=s.claim_settle_s, claim_ttl_s=s.claim_ttl_s,
            process_id=self.process_id,
            gate=self.gate,
        )
        self.demo = DemoOrderMaker(self.medusa)
        if self.with_feeds:
            self.feed = OrderFeed(self.medusa, self.bus, interval_s=s.poll_interval_s, now=self.now,
                                  sweep_interval_s=s.sweep_interval_s, on_unfinished=self._swept)
            self.reconciler = Reconciler(self.medusa, self.bus, self.rest, self.gate, repair=self.drift_repair,
                                         busy=self.fulfillment.is_starting, now=self.now)
            if self.rest is not None:
                self.incidents = IncidentPoller(
                    self.rest, self.bus, self.state.order_for_instance, interval_s=max(1.0, s.poll_interval_s), now=self.now
                )
        self.bus.subscribe(self._backend_back)
        if self.auto_start:
            self.auto_starter = AutoStarter(self.fulfillment)
            self.bus.subscribe(self._auto_start)
        if self.with_workers:
            self.workers = FulfillmentWorkers(
                s.worker_settings(medusa_url), self.channel_factory, self.bus.publish, now=self.now,
                callback_auth=self.medusa.auth, medusa_auth=self.medusa.auth, gate=self.gate,
            )
        self.bus.publish(ConsoleSetup(
            at=self.now(), engine_kind=_engine_kind(s), shop_embedded=s.embedded_shop,
            slack=s.slack_webhook_url is not None, workers=len(STAGES) if self.with_workers else 0,
        ))
        # Only the embedded shop has the fault switch (a real Medusa has no such route).
        if s.embedded_shop:
            self.faults = FaultSwitch(self.medusa, self.bus, self.now, s.demo_stage_jitter)
            try:
                await self.faults.load()
            except BackendError as exc:
                log.warning("the embedded shop's demo faults are unknown: %s", exc)
                self.bus.publish(self.faults.current)  # the workers' own (stage jitter) still show
        elif s.demo_stage_jitter > 0:
            self.bus.publish(DemoFaults(at=self.now(), stage_jitter=s.demo_stage_jitter))
        if s.metrics_port is not None:
            self._serve_metrics(s.metrics_port, s.metrics_host)

    def _serve_metrics(self, port: int, host: str) -> None:
        """Derive Prometheus metrics from the bus and serve them (MEDCAM_METRICS_PORT)."""
        metrics = FulfillmentMetrics()
        try:
            self.metrics = MetricsEndpoint.serve(metrics, port, host)
        except OSError as exc:
            raise StartupError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None
        self.bus.subscribe(metrics.observe)

    async def _running_embedded(self) -> Endpoints:
        """The embedded engine and shop that already run; StartupError naming what does not."""
        s = self.settings
        found = await running_endpoints("127.0.0.1", s.engine_grpc_port, s.engine_rest_port, s.shop_port)
        missing = []
        if s.embedded_engine and found.zeebe_address is None:
            missing.append(f"engine (127.0.0.1:{s.engine_rest_port})")
        if s.embedded_shop and found.medusa_url is None:
            missing.append(f"shop (127.0.0.1:{s.shop_port})")
        if missing:
            raise StartupError(
                f"the embedded {' and '.join(missing)} {'are' if len(missing) > 1 else 'is'} not running: "
                "start `medcam-console` or "
                "`medcam-console engine`, or set ZEEBE_ADDRESS / MEDUSA_BACKEND_URL"
            )
        return found

    def channel_factory(self) -> grpc.aio.Channel:
        assert self._target is not None
        return self._target.channel_factory()()

    def background_jobs(self) -> list[BackgroundJob]:
        """The long-running coroutines, named; the TUI runs them as Textual workers."""
        jobs: list[BackgroundJob] = [("store", self._flush_store), ("stuck-watch", self._watch_stuck),
                                     ("heap", self.heap.run)]
        if self.monitor is not None:
            jobs.append(("backends", self.monitor.run))
        if self.embedded is not None:
            jobs.append(("embedded", self._supervise_embedded))
        if self.workers is not None:
            jobs.append(("workers", self.workers.run))
        if self.feed is not None:
            jobs.append(("order-feed", self.feed.run))
        if self.incidents is not None:
            jobs.append(("incidents", self.incidents.run))
        if self.reconciler is not None and self.rest is not None:
            jobs.append(("reconciler", self.reconciler.run))
        return jobs

    def start_background(self) -> None:
        """Run the background jobs as plain asyncio tasks (headless use)."""
        for name, job in self.background_jobs():
            self._tasks.append(asyncio.get_running_loop().create_task(job(), name=name))

    async def stop(self) -> None:
        """Stop everything; running jobs get MEDCAM_SHUTDOWN_GRACE_S, the rest are handed back."""
        if self.workers is not None:
            self.handed_back = await self.workers.stop(self.settings.shutdown_grace_s)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.auto_starter is not None:
            await self.auto_starter.drain()
        if self.reconciler is not None:
            await self.reconciler.drain()
        for client in (self.zeebe, self.rest, self.medusa):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()
        if self.embedded is not None:
            await self.embedded.stop()
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        self.store.close()

    # ------------------------------------------------------------------ helpers
    async def top_up_demo_orders(self, wanted: int) -> int:
        """Create demo orders until the shop holds at least ``wanted``; returns how many were made."""
        assert self.medusa is not None
        _, existing = await self.medusa.list_orders(limit=1)
        return await self.create_demo_orders(max(0, wanted - existing))

    async def create_demo_orders(self, count: int) -> int:
        """Create ``count`` demo orders; returns how many were made."""
        assert self.demo is not None
        made = 0
        for _ in range(count):
            await self.demo.create()
            made += 1
        if self.feed is not None:
            self.feed.poke()
        return made

    def _swept(self, order: OrderSummary) -> None:
        """The feed's sweep lists every unfinished order: auto-start catches up on any it missed."""
        if self.auto_starter is not None:
            self.auto_starter.consider(order)

    def _auto_start(self, event: object) -> None:
        if self.auto_starter is None:
            return
        # While Zeebe is away a start could only fail (and mark the order failed): the
        # orders wait, and are all looked at again when Zeebe (or Medusa) answers again.
        zeebe_up = self.monitor is None or self.monitor.zeebe_up
        if isinstance(event, OrderSeen) and zeebe_up:
            self.auto_starter.consider(event.order)
        elif isinstance(event, BackendStatus) and event.component in ("zeebe", "medusa") and event.ok and zeebe_up:
            for view in list(self.state.orders.values()):
                self.auto_starter.consider(view.order)

    def _backend_back(self, event: object) -> None:
        """A backend answers again: workers poll and the feed reads now, not after their back-offs."""
        if not isinstance(event, BackendStatus) or not event.ok:
            return
        if event.component == "zeebe" and self.workers is not None:
            self.workers.reconnect()
        elif event.component == "medusa" and self.feed is not None:
            self.feed.poke()

    async def _deploy(self) -> None:
        """Deploy the process (again): an engine started after the console, or afresh, needs it."""
        assert self.zeebe is not None
        await self.zeebe.deploy(self.bpmn_file)

    async def _supervise_embedded(self) -> None:
        """Start the embedded child again when it dies, and say so in the header."""
        assert self.embedded is not None
        embedded_services = self.embedded

        def changed(up: bool, detail: str) -> None:
            (log.info if up else log.warning)(detail)
            self._status("embedded", up, detail)
            if not up:
                # What the child served is gone with it, however fast it comes back: the
                # header says so now, and the health check turns it green when it answers.
                parts = (("zeebe", "engine", self.settings.embedded_engine),
                         ("medusa", "shop", self.settings.embedded_shop))
                for component, part, embedded in parts:
                    if embedded and part not in embedded_services.reused:
                        self._status(component, False, detail)
            if self.monitor is not None:
                self.monitor.poke()

        # The interactive console keeps a warm standby child: a restart then takes a fraction
        # of a second instead of a whole interpreter start-up (seconds on a loaded machine).
        await self.embedded.supervise(changed, standby=self.wait_for_backends)

    async def _watch_stuck(self) -> None:
        """Flag orders whose stage runs too long, each once, and announce them on Slack."""
        while True:
            await asyncio.sleep(STUCK_SCAN_S)
            for event in self.stuck.scan(self.now(), lambda order_id: self.state.incident_for_order(order_id) is not None):
                self.bus.publish(event)
                stage = STAGE_BY_TYPE.get(event.stage)
                if self.workers is not None and stage is not None:
                    self.workers.slack.order_stuck(event.order_id, stage, event.running_s)

    async def _flush_store(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                await asyncio.to_thread(self.store.write, self.store.take())
            except Exception:
                log.exception("local store flush failed")

    def _status(self, component: str, ok: bool, detail: str) -> None:
        if self.monitor is not None and component in self.monitor.state:
            self.monitor.known(component, ok)
        self.bus.publish(BackendStatus(at=self.now(), component=component, ok=ok, detail=detail))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return "unknown"


def _engine_kind(settings: Settings) -> str:
    """embedded, SaaS (Camunda's cloud) or self-managed, for the header."""
    if settings.embedded_engine:
        return "embedded"
    if settings.camunda_cluster_id or "camunda.io" in (settings.zeebe_address or ""):
        return "SaaS"
    return "self-managed"


def _rest_url_for(settings: Settings) -> str | None:
    """Camunda SaaS REST address from cluster id and region, when not given explicitly."""
    if settings.camunda_cluster_id and settings.camunda_cluster_region:
        return f"https://{settings.camunda_cluster_region}.zeebe.camunda.io/{settings.camunda_cluster_id}"
    return None


class _NoRest:
    """Stands in when no REST address is known: incident retry says so clearly."""

    async def incidents_of(self, process_instance_key: int) -> list:
        raise BackendError("camunda-rest", "ZEEBE_REST_ADDRESS is not set, so incidents cannot be listed")

    async def instances_with_variable(self, process_id: str, name: str, value: object) -> list:
        raise BackendError("camunda-rest", "ZEEBE_REST_ADDRESS is not set, so instances cannot be searched")
