"""Process definitions shipped with medcam-console (Zeebe BPMN with diagram interchange)."""

from pathlib import Path

#: The seed's order-fulfillment process: verify-payment → reserve-inventory → send-notification.
ORDER_FULFILLMENT = Path(__file__).with_name("order-fulfillment.bpmn")

#: The process id the seed fixed; every console and worker refers to it.
ORDER_PROCESS_ID = "order-fulfillment-poc"
