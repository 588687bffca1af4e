"""`medcam-console workers --metrics-port`: Prometheus metrics scraped from the real endpoint."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pyzeebe import ZeebeClient, create_insecure_channel

from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
from console.metrics import FulfillmentMetrics
from tests.e2e.test_cli import CLI
from tests.shop.conftest import create_order, load_catalogue
from workers.events import IncidentRaised


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_workers_expose_job_callback_incident_and_order_metrics(tmp_path, backends):
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_"))}
    environment.update({
        "ZEEBE_ADDRESS": backends.zeebe_address,
        "ZEEBE_REST_ADDRESS": backends.rest_url,
        "MEDUSA_BACKEND_URL": backends.shop_url,
        "MEDCAM_DATA_DIR": str(tmp_path / "workers"),
        "MEDCAM_STAGE_DELAYS": "zero",
        "MEDCAM_CALLBACK_BACKOFF_S": "0.01",
        "MEDCAM_JOB_RETRY_BACKOFF_MS": "50",
    })
    workers = await asyncio.create_subprocess_exec(
        *CLI, "workers", "--metrics-port", "0", cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    channel = create_insecure_channel(backends.zeebe_address)
    try:
        async with asyncio.timeout(60):
            while not (line := (await workers.stderr.readline()).decode()).startswith("workers: metrics on "):
                assert line, "workers exited before serving metrics"
        url = line.split("metrics on ")[1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")

        client = ZeebeClient(channel)
        await client.deploy_resource(str(ORDER_FULFILLMENT))
        async with httpx.AsyncClient(base_url=backends.shop_url, timeout=10) as shop:
            catalogue = await load_catalogue(shop)
            good = [(await create_order(shop, catalogue))["id"] for _ in range(3)]
        for order_id in good:
            await client.run_process(ORDER_PROCESS_ID, {"orderId": order_id, "timestamp": "t"})
        # An order the shop does not know: every callback is answered 404 until an incident.
        await client.run_process(ORDER_PROCESS_ID, {"orderId": "order_missing", "timestamp": "t"})

        completed = ("medcam_jobs_completed_total", (("task_type", "send-notification"),))
        async with httpx.AsyncClient(timeout=10) as http:
            async with asyncio.timeout(60):
                while True:
                    response = await http.get(url)
                    samples = _samples(response.text)
                    if samples.get(completed) == 3 and samples.get(("medcam_incidents_raised_total", ())) == 1:
                        break
                    await asyncio.sleep(0.05)  # polling the endpoint until the figures arrive
    finally:
        await channel.close()
        workers.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            await workers.communicate()
    assert response.headers["content-type"].startswith("text/plain")
    for task_type in ("verify-payment", "reserve-inventory", "send-notification"):
        assert samples[("medcam_jobs_completed_total", (("task_type", task_type),))] == 3
    # verify-payment ran 4 times for the missing order (3 retries + the first), never completing.
    assert samples[("medcam_jobs_activated_total", (("task_type", "verify-payment"),))] == 3 + 3
    assert samples[("medcam_jobs_failed_total", (("task_type", "verify-payment"),))] == 3
    assert samples[("medcam_callback_attempts_total", (("outcome", "ok"),))] == 9
    assert samples[("medcam_callback_attempts_total", (("outcome", "http_error"),))] >= 3
    assert samples[("medcam_callback_latency_seconds_count", ())] == sum(
        v for (name, _), v in samples.items() if name == "medcam_callback_attempts_total")
    assert samples[("medcam_orders_in_flight", ())] == 1  # the missing order waits on its incident
    assert samples[("medcam_slack_posts_total", ())] == 0
    assert workers.returncode == 0


def test_an_incident_reported_by_worker_and_poller_counts_once():
    from datetime import UTC, datetime

    metrics = FulfillmentMetrics()
    at = datetime.now(UTC)
    metrics.observe(IncidentRaised(at=at, order_id="o", stage="verify-payment", job_key=7, process_instance_key=1, error="x"))
    metrics.observe(IncidentRaised(at=at, order_id="o", stage="verify-payment", job_key=7, process_instance_key=1,
                                   error="x", incident_key=99))
    metrics.observe(IncidentRaised(at=at, order_id="p", stage="", job_key=None, process_instance_key=2,
                                   error="expression failed", incident_key=100))
    assert metrics.registry.get_sample_value("medcam_incidents_raised_total") == 2


async def test_the_console_serves_metrics_when_the_port_is_set(tmp_path, backends):
    from tests.e2e.conftest import fast_settings, running_console

    async with httpx.AsyncClient(base_url=backends.shop_url, timeout=10) as shop:
        order = await create_order(shop, await load_catalogue(shop))
    async with running_console(fast_settings(tmp_path, backends, metrics_port=0)) as (runtime, recorder):
        from workers.events import StageCompleted

        await recorder.wait_for(lambda: recorder.of(StageCompleted, order_id=order["id"], stage="send-notification"))
        assert runtime.metrics is not None
        async with httpx.AsyncClient(timeout=10) as http:
            samples = _samples((await http.get(runtime.metrics.url)).text)
    assert samples[("medcam_jobs_completed_total", (("task_type", "send-notification"),))] == 1
    assert samples[("medcam_callback_attempts_total", (("outcome", "ok"),))] == 3
    assert samples[("medcam_orders_in_flight", ())] == 0


def test_jobs_handed_back_at_shutdown_are_counted_per_task_type():
    from datetime import UTC, datetime

    from workers.events import JobHandedBack

    metrics = FulfillmentMetrics()
    at = datetime.now(UTC)
    for key in (1, 2):
        metrics.observe(JobHandedBack(at=at, order_id=f"o{key}", stage="reserve-inventory", job_key=key,
                                      process_instance_key=key))
    assert metrics.registry.get_sample_value("medcam_jobs_handed_back_total", {"task_type": "reserve-inventory"}) == 2


def test_slack_posts_failures_and_resolved_incidents_are_counted_once():
    from datetime import UTC, datetime

    from console.events import IncidentResolved
    from workers.events import SlackFailed, SlackSent

    metrics = FulfillmentMetrics()
    at = datetime.now(UTC)
    metrics.observe(SlackSent(at=at, order_id="o", title="💳 Payment Verified"))
    metrics.observe(SlackSent(at=at, order_id="o", title="📦 Inventory Reserved"))
    metrics.observe(SlackFailed(at=at, order_id="o", title="🎉 Order Complete", error="HTTP 403"))
    # The operator's retry and the incident poller both report the same resolution.
    metrics.observe(IncidentResolved(at=at, incident_key=5, process_instance_key=1, order_id="o"))
    metrics.observe(IncidentResolved(at=at, incident_key=5, process_instance_key=1))
    value = metrics.registry.get_sample_value
    assert (value("medcam_slack_posts_total"), value("medcam_slack_failures_total")) == (2, 1)
    assert value("medcam_incidents_resolved_total") == 1
