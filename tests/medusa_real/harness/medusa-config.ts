// Minimal Medusa 2.12 backend for medcam-console's real-Medusa test tier.
// No Redis (in-memory event bus, cache, workflow engine and locking are Medusa's defaults
// when no redisUrl is set) and no admin build. Everything comes from the environment the
// harness (.ci/medusa-tier or tests/medusa_real/server.py) sets.
import { loadEnv, defineConfig } from "@medusajs/framework/utils"

loadEnv(process.env.NODE_ENV || "development", process.cwd())

const cors = process.env.MEDUSA_CORS || "http://127.0.0.1"

module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    databaseDriverOptions: { connection: { ssl: false } },
    http: {
      storeCors: cors,
      adminCors: cors,
      authCors: cors,
      jwtSecret: process.env.JWT_SECRET || "medcam-test-jwt",
      cookieSecret: process.env.COOKIE_SECRET || "medcam-test-cookie",
    },
  },
  admin: {
    disable: true,
  },
})
