"""The one settings object: environment variables and ``.env``, read once and validated."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from workers.callback import CallbackPolicy
from workers.settings import (
    DEFAULT_TASK_CONCURRENCY,
    SEED_JOB_RETRY_BACKOFF_MS,
    WorkerSettings,
    parse_task_concurrency,
)
from workers.stages import SEED_DELAYS_S, parse_delays

#: The seed's callback schedule (3 attempts, 1 s then 2 s, 5 s each): the settings' defaults.
SEED_CALLBACK = CallbackPolicy()


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def default_data_dir() -> Path:
    """``$XDG_STATE_HOME/medcam-console`` (``~/.local/state/medcam-console`` when unset)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "medcam-console"


Port = Annotated[int, Field(ge=0, le=65535)]


class SettingsError(Exception):
    """A setting has a value we cannot use; the message names it and says why."""


class Settings(BaseSettings):
    """Every variable medcam-console reads. Names follow Camunda's SDKs and the seed."""

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", case_sensitive=True, populate_by_name=True
    )

    # Zeebe / Camunda 8: unset ZEEBE_ADDRESS means the embedded engine.
    zeebe_address: str | None = Field(None, validation_alias=_env("ZEEBE_ADDRESS", "ZEEBE_GRPC_ADDRESS"))
    zeebe_client_id: str | None = Field(None, validation_alias=_env("ZEEBE_CLIENT_ID", "CAMUNDA_CLIENT_ID"))
    zeebe_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("ZEEBE_CLIENT_SECRET", "CAMUNDA_CLIENT_SECRET")
    )
    zeebe_authorization_server_url: str | None = Field(
        None, validation_alias=_env("ZEEBE_AUTHORIZATION_SERVER_URL", "CAMUNDA_OAUTH_URL")
    )
    zeebe_token_audience: str | None = Field(
        None, validation_alias=_env("ZEEBE_TOKEN_AUDIENCE", "CAMUNDA_TOKEN_AUDIENCE")
    )
    zeebe_token_scope: str | None = Field(None, validation_alias=_env("ZEEBE_TOKEN_SCOPE"))
    zeebe_rest_address: str | None = Field(
        None, validation_alias=_env("ZEEBE_REST_ADDRESS", "CAMUNDA_REST_ADDRESS")
    )
    camunda_cluster_id: str | None = Field(None, validation_alias=_env("CAMUNDA_CLUSTER_ID"))
    camunda_cluster_region: str | None = Field(None, validation_alias=_env("CAMUNDA_CLUSTER_REGION"))

    # Medusa: unset MEDUSA_BACKEND_URL means the embedded shop.
    medusa_backend_url: str | None = Field(None, validation_alias=_env("MEDUSA_BACKEND_URL"))
    medusa_api_key: SecretStr | None = Field(None, validation_alias=_env("MEDUSA_API_KEY"))
    #: Admin user for Medusa's email/password login (both or neither). With MEDUSA_API_KEY
    #: also set, the API key wins and these are not used.
    medusa_admin_email: str | None = Field(
        None, validate_default=True, validation_alias=_env("MEDUSA_ADMIN_EMAIL")
    )
    medusa_admin_password: SecretStr | None = Field(
        None, validate_default=True, validation_alias=_env("MEDUSA_ADMIN_PASSWORD")
    )
    callback_secret: SecretStr | None = Field(None, validation_alias=_env("MEDCAM_CALLBACK_SECRET"))

    # Slack (optional).
    slack_webhook_url: SecretStr | None = Field(None, validation_alias=_env("SLACK_WEBHOOK_URL"))
    slack_admin_url: str | None = Field(None, validation_alias=_env("SLACK_ADMIN_URL"))

    # medcam-console's own.
    data_dir: Path = Field(default_factory=default_data_dir, validation_alias=_env("MEDCAM_DATA_DIR"))
    stage_delays: Annotated[tuple[float, ...], NoDecode] = Field(
        default=SEED_DELAYS_S, validation_alias=_env("MEDCAM_STAGE_DELAYS")
    )
    auto_start: bool = Field(True, validation_alias=_env("MEDCAM_AUTO_START"))
    demo_orders: int = Field(5, ge=0, le=1000, validation_alias=_env("MEDCAM_DEMO_ORDERS"))
    #: Demo faults of the embedded shop (off by default): the share of status callbacks it
    #: answers 500, and the share of converted orders whose payment is declined.
    demo_callback_fail_rate: float = Field(
        0.0, ge=0, le=1, validation_alias=_env("MEDCAM_DEMO_CALLBACK_FAIL_RATE")
    )
    demo_decline_rate: float = Field(0.0, ge=0, le=1, validation_alias=_env("MEDCAM_DEMO_DECLINE_RATE"))
    #: Seeds the embedded shop's fault draws, so a demo run repeats (unset: random).
    demo_seed: int | None = Field(None, validation_alias=_env("MEDCAM_DEMO_SEED"))
    engine_grpc_port: Port = Field(26500, validation_alias=_env("MEDCAM_ENGINE_GRPC_PORT"))
    engine_rest_port: Port = Field(8080, validation_alias=_env("MEDCAM_ENGINE_REST_PORT"))
    shop_port: Port = Field(9000, validation_alias=_env("MEDCAM_SHOP_PORT"))
    poll_interval_s: float = Field(1.0, gt=0, le=300, validation_alias=_env("MEDCAM_POLL_INTERVAL_S"))
    #: How often the order feed lists every unfinished order again (auto-start catches up).
    sweep_interval_s: float = Field(60.0, gt=0, le=86_400, validation_alias=_env("MEDCAM_SWEEP_INTERVAL_S"))
    callback_backoff_s: float = Field(
        SEED_CALLBACK.backoff_s, ge=0, le=600, validation_alias=_env("MEDCAM_CALLBACK_BACKOFF_S")
    )
    callback_timeout_s: float = Field(
        SEED_CALLBACK.timeout_s, gt=0, le=600, validation_alias=_env("MEDCAM_CALLBACK_TIMEOUT_S")
    )
    job_retry_backoff_ms: int = Field(
        SEED_JOB_RETRY_BACKOFF_MS, ge=0, le=86_400_000, validation_alias=_env("MEDCAM_JOB_RETRY_BACKOFF_MS")
    )
    log_level: str = Field("INFO", validation_alias=_env("MEDCAM_LOG_LEVEL"))
    #: How status updates reach Medusa: the seed's POST /demo, or the stock Admin API.
    callback_mode: Literal["demo", "admin"] = Field("demo", validation_alias=_env("MEDCAM_CALLBACK_MODE"))
    #: Names this console in the order claims it writes (default host:pid).
    console_id: str | None = Field(None, min_length=1, max_length=100, validation_alias=_env("MEDCAM_CONSOLE_ID"))
    #: How long a console waits after claiming an order before reading the claim back.
    claim_settle_s: float = Field(1.0, ge=0, le=60, validation_alias=_env("MEDCAM_CLAIM_SETTLE_S"))
    #: After this long, a claim with no recorded instance may be recovered by another console.
    claim_ttl_s: float = Field(60.0, gt=0, le=86_400, validation_alias=_env("MEDCAM_CLAIM_TTL_S"))
    #: None = on with the embedded engine, off with a configured Zeebe (it may predate 8.4).
    job_streaming: bool | None = Field(None, validation_alias=_env("MEDCAM_JOB_STREAMING"))
    #: Serve Prometheus metrics on this port (unset = none); MEDCAM_METRICS_HOST binds it.
    metrics_port: Port | None = Field(None, validation_alias=_env("MEDCAM_METRICS_PORT"))
    metrics_host: str = Field("127.0.0.1", min_length=1, validation_alias=_env("MEDCAM_METRICS_HOST"))
    #: On SIGTERM, headless workers let running jobs finish this long, then hand the rest back.
    shutdown_grace_s: float = Field(30.0, ge=0, le=3600, validation_alias=_env("MEDCAM_SHUTDOWN_GRACE_S"))
    #: An order is stuck when its stage runs longer than max(this, factor × the stage's p95).
    stuck_min_s: float = Field(30.0, ge=0, le=86_400, validation_alias=_env("MEDCAM_STUCK_MIN_S"))
    stuck_factor: float = Field(3.0, gt=0, le=1000, validation_alias=_env("MEDCAM_STUCK_FACTOR"))
    #: Demo: a random ± share (0..1) added to each stage's simulated work.
    demo_stage_jitter: float = Field(0.0, ge=0, le=1, validation_alias=_env("MEDCAM_DEMO_STAGE_JITTER"))

    #: Which process the console deploys and starts: the seed's ("poc") or "parallel".
    process: Literal["poc", "parallel"] = Field("poc", validation_alias=_env("MEDCAM_PROCESS"))
    #: Jobs per task type running at once: "N" and/or "task-type=N,...".
    task_concurrency: Annotated[tuple[int, tuple[tuple[str, int], ...]], NoDecode] = Field(
        default=(DEFAULT_TASK_CONCURRENCY, ()), validation_alias=_env("MEDCAM_TASK_CONCURRENCY")
    )
    #: Slack messages waiting to be posted before the oldest is dropped.
    slack_queue_size: int = Field(1000, ge=1, le=1_000_000, validation_alias=_env("MEDCAM_SLACK_QUEUE_SIZE"))

    @field_validator("task_concurrency", mode="before")
    @classmethod
    def _concurrency(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_task_concurrency(value)
        if isinstance(value, int):
            return (value, ())
        return value

    @field_validator("stage_delays", mode="before")
    @classmethod
    def _delays(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_delays(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator(
        "zeebe_address", "zeebe_rest_address", "medusa_backend_url", "slack_admin_url", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("medusa_admin_email", mode="before")
    @classmethod
    def _blank_email_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("medusa_admin_password")
    @classmethod
    def _email_and_password_together(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        """Both or neither; the error names the variable, never the password's value."""
        if value is not None and not value.get_secret_value():
            value = None
        email = info.data.get("medusa_admin_email")
        if email and value is None:
            raise ValueError("must be set too when MEDUSA_ADMIN_EMAIL is set (both or neither)")
        if value is not None and not email:
            raise ValueError("is set but MEDUSA_ADMIN_EMAIL is not (both or neither)")
        return value

    @field_validator("medusa_backend_url", "zeebe_rest_address")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    # Derived facts -----------------------------------------------------------------

    @property
    def embedded_engine(self) -> bool:
        return self.zeebe_address is None

    @property
    def embedded_shop(self) -> bool:
        return self.medusa_backend_url is None

    def worker_settings(self, medusa_url: str) -> WorkerSettings:
        """What the workers need, given the Medusa URL actually in use."""
        return WorkerSettings(
            medusa_url=medusa_url,
            delays_s=self.stage_delays,
            callback=CallbackPolicy(
                attempts=SEED_CALLBACK.attempts, backoff_s=self.callback_backoff_s, timeout_s=self.callback_timeout_s
            ),
            job_retry_backoff_ms=self.job_retry_backoff_ms,
            callback_secret=self.callback_secret.get_secret_value() if self.callback_secret else None,
            callback_mode=self.callback_mode,
            job_streaming=self.embedded_engine if self.job_streaming is None else self.job_streaming,
            stage_jitter=self.demo_stage_jitter,
            slack_webhook_url=(
                self.slack_webhook_url.get_secret_value() if self.slack_webhook_url else None
            ),
            slack_admin_url=self.slack_admin_url,
            process=self.process,
            default_task_concurrency=self.task_concurrency[0],
            task_concurrency=self.task_concurrency[1],
            slack_queue_size=self.slack_queue_size,
        )

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction filter."""
        values = [self.zeebe_client_secret, self.medusa_api_key, self.slack_webhook_url, self.callback_secret,
                  self.medusa_admin_password]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def load_settings(env_file: Path | None = None, **overrides: object) -> Settings:
    """Read the environment (and ``env_file`` if given, else ``./.env`` if present).

    Raises SettingsError with one line per bad variable; never a traceback.
    """
    if env_file is not None and not env_file.is_file():
        raise SettingsError(f"env file {env_file} does not exist")
    chosen = env_file if env_file is not None else (Path(".env") if Path(".env").is_file() else None)
    try:
        return Settings(_env_file=chosen, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except _SourceError as exc:
        raise SettingsError(str(exc)) from None


_SECRET_FIELDS = frozenset(
    {"zeebe_client_secret", "medusa_api_key", "slack_webhook_url", "callback_secret", "medusa_admin_password"}
)


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = error.get("loc") or ("?",)
        env_name = str(loc[0])  # the variable read (CAMUNDA_CLIENT_SECRET...) or a field name
        name = _field_name(env_name)
        field = Settings.model_fields.get(name)
        alias = field.validation_alias if field else None
        if env_name == name and isinstance(alias, AliasChoices):
            env_name = alias.choices[0]
        value = error.get("input")
        shown = "" if name in _SECRET_FIELDS else f"={value!r}"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"bad setting {env_name}{shown}: {message}")
    return "; ".join(lines)


def _field_name(loc: str) -> str:
    """The field an error location names: errors from the environment carry the alias."""
    if loc in Settings.model_fields:
        return loc
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices) and loc in alias.choices:
            return name
    return loc
