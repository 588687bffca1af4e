// The seed's three fulfillment workers (src/workers/poc-workers.ts in the proof of concept),
// written with the official Camunda 8 Node SDK, for the side-by-side benchmark
// (python -m bench.peer.driver). Plain JavaScript so it runs without a build step.
//
// Environment: ZEEBE_GRPC_ADDRESS (grpc://host:port), MEDUSA_BACKEND_URL (the callback sink),
// PEER_DELAYS ("2,3,1.5" seconds, the seed's), PEER_CAPACITY (jobs each worker runs at once).
"use strict";

const { Camunda8 } = require("@camunda8/sdk");

const delays = (process.env.PEER_DELAYS || "2,3,1.5").split(",").map(Number);
const capacity = Number(process.env.PEER_CAPACITY || 32);
const medusa = process.env.MEDUSA_BACKEND_URL;

const camunda = new Camunda8({
  ZEEBE_GRPC_ADDRESS: process.env.ZEEBE_GRPC_ADDRESS,
  CAMUNDA_AUTH_STRATEGY: "NONE",
  zeebeGrpcSettings: { ZEEBE_GRPC_CLIENT_RETRY: true },
});
const zbc = camunda.getZeebeGrpcApiClient();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The seed's updateMedusa: 3 attempts, back-off 1 s then 2 s, 5 s timeout per attempt.
async function updateMedusa(orderId, status, message, retries = 3) {
  for (let attempt = 1; attempt <= retries; attempt++) {
    try {
      const response = await fetch(`${medusa}/demo`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ orderId, status, message }),
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return await response.json();
    } catch (error) {
      console.error(`callback ${orderId} ${status} attempt ${attempt}/${retries} failed: ${error.cause?.code || error.name}: ${error.message}`);
      if (attempt === retries) throw error;
      await sleep(1000 * 2 ** (attempt - 1));
    }
  }
}

const STAGES = [
  ["verify-payment", "payment_verified", "Payment verified successfully",
    (at) => ({ paymentVerified: true, verifiedAt: at })],
  ["reserve-inventory", "inventory_reserved", "Inventory reserved at Mumbai warehouse",
    (at) => ({ inventoryReserved: true, warehouse: "Mumbai", reservedAt: at })],
  ["send-notification", "completed", "Customer notified - Order complete!",
    (at) => ({ notificationSent: true, sentAt: at })],
];

STAGES.forEach(([taskType, status, message, outputs], index) => {
  zbc.createWorker({
    taskType,
    maxJobsToActivate: capacity,
    timeout: 60000,
    fetchVariable: ["orderId"],
    taskHandler: async (job) => {
      const { orderId } = job.variables;
      try {
        await sleep(delays[index] * 1000);
        await updateMedusa(orderId, status, message);
        return job.complete(outputs(new Date().toISOString()));
      } catch (error) {
        // The seed passes retries: 3 on every failure; counting down keeps an incident reachable.
        return job.fail({ errorMessage: String(error.message || error), retries: job.retries - 1, retryBackOff: 5000 });
      }
    },
  });
});

zbc.topology().then(
  (topology) => console.log(JSON.stringify({ ready: true, brokers: topology.brokers.length })),
  (error) => { console.log(JSON.stringify({ ready: false, error: String(error) })); process.exit(2); },
);

const stop = async () => { await zbc.close(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
