// The container's HEALTHCHECK: GET /health/ready on the app's port (PORT, else the app's default).
// Every app, the simulator, the mail catcher and the demo shop included, serves /health/ready.
const DEFAULT_PORTS = {
  'order-receiving': 3000,
  inventory: 3001,
  notification: 3002,
  'order-processing': 3003,
  'payment-gateway-sim': 4000,
  'mail-catcher': 8025,
  'storefront-demo': 8080,
};
module.exports = { DEFAULT_PORTS };

if (require.main === module) {
  const port = process.env.PORT || DEFAULT_PORTS[process.env.APP];
  fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2500) }).then(
    (r) => process.exit(r.status === 200 ? 0 : 1),
    () => process.exit(1),
  );
}
