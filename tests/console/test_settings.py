"""Settings: seed and Camunda names, aliases, one-line errors, secrets kept out of logs."""

from __future__ import annotations

import json
import logging

import pytest

from console.logging_setup import setup_logging
from console.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    import os

    for name in list(os.environ):
        if name.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_mean_embedded_everything():
    settings = load_settings()
    assert settings.embedded_engine and settings.embedded_shop
    assert settings.stage_delays == (2.0, 3.0, 1.5)
    assert settings.auto_start and settings.demo_orders == 5


def test_env_file_and_aliases(tmp_path, monkeypatch):
    env = tmp_path / "prod.env"
    env.write_text(
        "ZEEBE_GRPC_ADDRESS=grpcs://abc.bru-2.zeebe.camunda.io:443\n"
        "CAMUNDA_CLIENT_ID=client\nCAMUNDA_CLIENT_SECRET=very-secret\n"
        "CAMUNDA_OAUTH_URL=https://login.example/oauth/token\n"
        "MEDUSA_BACKEND_URL=http://shop.internal:9000/\nMEDCAM_STAGE_DELAYS=zero\n"
    )
    monkeypatch.setenv("MEDCAM_DEMO_ORDERS", "2")  # the environment wins over the file
    settings = load_settings(env)
    assert settings.zeebe_address == "grpcs://abc.bru-2.zeebe.camunda.io:443"
    assert settings.zeebe_client_id == "client"
    assert settings.zeebe_authorization_server_url == "https://login.example/oauth/token"
    assert settings.medusa_backend_url == "http://shop.internal:9000"
    assert settings.stage_delays == (0.0, 0.0, 0.0) and settings.demo_orders == 2
    assert "very-secret" not in repr(settings)
    assert settings.secrets() == ["very-secret"]


def test_dotenv_in_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text("MEDCAM_AUTO_START=false\n")
    assert load_settings().auto_start is False


def test_errors_name_each_variable_and_hide_secret_values(monkeypatch):
    monkeypatch.setenv("MEDCAM_ENGINE_GRPC_PORT", "70000")
    monkeypatch.setenv("MEDCAM_LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "MEDCAM_ENGINE_GRPC_PORT='70000'" in message and "MEDCAM_LOG_LEVEL" in message
    assert "\n" not in message


def test_log_file_is_json_lines_and_redacts_secrets(tmp_path):
    path = setup_logging(tmp_path / "console.log", "INFO", ["hunter2-secret"])
    logging.getLogger("medcam.test").warning("token is %s", "hunter2-secret", extra={"order_id": "o1"})
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = path.read_text().splitlines()
    entry = json.loads(lines[-1])
    assert entry["message"] == "token is ***" and entry["order_id"] == "o1"
    assert "hunter2-secret" not in path.read_text()
    logging.getLogger().handlers.clear()


def test_urls_on_screen_and_in_errors_lose_their_credentials():
    from console.clients.errors import display_url
    from console.clients.medusa import MedusaAdmin

    assert display_url("http://admin:hunter2@shop.internal:9000") == "http://shop.internal:9000"
    assert display_url("http://shop.internal:9000") == "http://shop.internal:9000"
    assert "hunter2" not in MedusaAdmin("http://admin:hunter2@shop.internal:9000").base_url


def test_medusa_admin_email_and_password(monkeypatch):
    monkeypatch.setenv("MEDUSA_ADMIN_EMAIL", " admin@medcam.test ")
    monkeypatch.setenv("MEDUSA_ADMIN_PASSWORD", "pw-hunter2-admin")
    settings = load_settings()
    assert settings.medusa_admin_email == "admin@medcam.test"
    assert settings.medusa_admin_password.get_secret_value() == "pw-hunter2-admin"
    assert "pw-hunter2-admin" not in repr(settings)
    assert settings.secrets() == ["pw-hunter2-admin"], "redacted from the log"


def test_medusa_admin_email_without_password_names_the_missing_variable(monkeypatch):
    monkeypatch.setenv("MEDUSA_ADMIN_EMAIL", "admin@medcam.test")
    monkeypatch.setenv("MEDUSA_ADMIN_PASSWORD", "")  # blank is unset
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("bad setting MEDUSA_ADMIN_PASSWORD:")
    assert "MEDUSA_ADMIN_EMAIL is set" in message and "\n" not in message


def test_medusa_admin_password_without_email_never_echoes_the_password(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("MEDUSA_ADMIN_PASSWORD=pw-hunter2-admin\nMEDUSA_ADMIN_EMAIL=  \n")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "MEDUSA_ADMIN_PASSWORD" in message and "MEDUSA_ADMIN_EMAIL is not" in message
    assert "pw-hunter2-admin" not in message


def test_neither_email_nor_password_is_fine_and_the_api_key_may_join_them(monkeypatch):
    assert load_settings().medusa_admin_email is None
    monkeypatch.setenv("MEDUSA_API_KEY", "sk_both")
    monkeypatch.setenv("MEDUSA_ADMIN_EMAIL", "admin@medcam.test")
    monkeypatch.setenv("MEDUSA_ADMIN_PASSWORD", "pw-both")
    settings = load_settings()  # both kinds set: allowed, MedusaAdmin uses the key
    assert settings.medusa_api_key.get_secret_value() == "sk_both"
    assert sorted(settings.secrets()) == ["pw-both", "sk_both"]


def test_process_and_task_concurrency_reach_the_workers(monkeypatch):
    settings = load_settings()
    assert settings.process == "poc"
    workers = settings.worker_settings("http://shop")
    assert workers.task_types == ("verify-payment", "reserve-inventory", "send-notification")
    assert workers.concurrency_of("verify-payment") >= 1000
    monkeypatch.setenv("MEDCAM_PROCESS", "parallel")
    monkeypatch.setenv("MEDCAM_TASK_CONCURRENCY", "300,release-inventory=10")
    monkeypatch.setenv("MEDCAM_SLACK_QUEUE_SIZE", "50")
    workers = load_settings().worker_settings("http://shop")
    assert workers.process == "parallel" and "release-inventory" in workers.task_types
    assert workers.concurrency_of("release-inventory") == 10 and workers.concurrency_of("send-notification") == 300
    assert workers.slack_queue_size == 50


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [("MEDCAM_PROCESS", "fast", "MEDCAM_PROCESS='fast'"),
     ("MEDCAM_TASK_CONCURRENCY", "verify=3", "'verify' is not a task type")],
)
def test_bad_process_or_concurrency_is_one_line(monkeypatch, name, value, said):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_stuck_and_jitter_settings(monkeypatch):
    monkeypatch.setenv("MEDCAM_STUCK_MIN_S", "12")
    monkeypatch.setenv("MEDCAM_STUCK_FACTOR", "2.5")
    monkeypatch.setenv("MEDCAM_DEMO_STAGE_JITTER", "0.3")
    settings = load_settings()
    assert (settings.stuck_min_s, settings.stuck_factor, settings.demo_stage_jitter) == (12, 2.5, 0.3)
    assert settings.worker_settings("http://shop").stage_jitter == 0.3
    monkeypatch.setenv("MEDCAM_DEMO_STAGE_JITTER", "1.5")
    with pytest.raises(SettingsError, match="MEDCAM_DEMO_STAGE_JITTER='1.5'"):
        load_settings()


def test_stage_jitter_varies_the_work_within_its_share():
    from workers.handlers import StageHandler
    from workers.stages import STAGES

    steady = StageHandler(STAGES[0], 2.0, None, None, print, None)  # type: ignore[arg-type]
    assert {steady.work_s() for _ in range(20)} == {2.0}
    jittery = StageHandler(STAGES[0], 2.0, None, None, print, None, jitter=0.5)  # type: ignore[arg-type]
    runs = [jittery.work_s() for _ in range(200)]
    assert all(1.0 <= r <= 3.0 for r in runs) and len(set(runs)) > 100
