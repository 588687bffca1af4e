"""Process definitions shipped with medcam-console (Zeebe BPMN with diagram interchange)."""

from pathlib import Path

#: The seed's order-fulfillment process: verify-payment → reserve-inventory → send-notification.
ORDER_FULFILLMENT = Path(__file__).with_name("order-fulfillment.bpmn")

#: The process id the seed fixed; every console and worker refers to it.
ORDER_PROCESS_ID = "order-fulfillment-poc"

#: Verify-payment and reserve-inventory side by side, then send-notification; a declined
#: payment (BPMN error PAYMENT_DECLINED) releases the reservation and notifies the customer.
PARALLEL_FULFILLMENT = Path(__file__).with_name("order-fulfillment-parallel.bpmn")
PARALLEL_PROCESS_ID = "order-fulfillment-parallel"

#: The error code verify-payment throws when the order's payment was declined.
PAYMENT_DECLINED = "PAYMENT_DECLINED"

#: MEDCAM_PROCESS name → (BPMN file, process id).
PROCESSES: dict[str, tuple[Path, str]] = {
    "poc": (ORDER_FULFILLMENT, ORDER_PROCESS_ID),
    "parallel": (PARALLEL_FULFILLMENT, PARALLEL_PROCESS_ID),
}
