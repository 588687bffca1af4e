// The seed's status-callback route (src/api/demo/route.ts in the proof of concept).
// Medusa v2 routes outside /admin and /store are public, as they were in the seed.
//
//   POST /demo {orderId, status, message?}
//     400 when orderId/status are not non-empty strings, 404 for an unknown order,
//     otherwise merges workflow_status / workflow_message / last_updated into the order's
//     metadata; status "completed" also sets the order's status to "completed".
//   GET /demo  -> health check.
import type { MedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { Modules } from "@medusajs/framework/utils"

type DemoBody = { orderId?: unknown; status?: unknown; message?: unknown }

export async function GET(_req: MedusaRequest, res: MedusaResponse) {
  res.json({ ok: true, endpoint: "/demo", timestamp: new Date().toISOString() })
}

export async function POST(req: MedusaRequest, res: MedusaResponse) {
  const body = (req.body || {}) as DemoBody
  const { orderId, status, message } = body
  if (typeof orderId !== "string" || !orderId.trim()) {
    return res.status(400).json({ success: false, error: "orderId (non-empty string) is required" })
  }
  if (typeof status !== "string" || !status.trim()) {
    return res.status(400).json({ success: false, error: "status (non-empty string) is required" })
  }
  if (message !== undefined && typeof message !== "string") {
    return res.status(400).json({ success: false, error: "message must be a string" })
  }
  const orders: any = req.scope.resolve(Modules.ORDER)
  try {
    let order: any
    try {
      order = await orders.retrieveOrder(orderId, { select: ["id", "status", "metadata"] })
    } catch (e: any) {
      if (e?.type === "not_found" || /not found/i.test(String(e?.message))) {
        return res.status(404).json({ success: false, error: `Order ${orderId} not found` })
      }
      throw e
    }
    const now = new Date().toISOString()
    const metadata = {
      ...(order.metadata || {}),
      workflow_status: status,
      workflow_message: typeof message === "string" ? message : "",
      last_updated: now,
    }
    const update: Record<string, unknown> = { metadata }
    if (status === "completed") {
      update.status = "completed"
    }
    const updated = await orders.updateOrders(orderId, update)
    return res.json({
      success: true,
      orderId,
      status,
      order_status: updated?.status,
      metadata: updated?.metadata,
    })
  } catch (e: any) {
    return res.status(500).json({ success: false, error: String(e?.message || e) })
  }
}
