// Runs graphql-http's server audit against the URL given as the first argument and prints one
// JSON line per audit ({id, name, status, reason}); exits 1 unless every audit is "ok".
// NODE_PATH must name the node_modules holding graphql-http (`make audit-http` installs it).
const { auditServer } = require("graphql-http");

(async () => {
  const results = await auditServer({ url: process.argv[2] });
  let bad = 0;
  for (const result of results) {
    if (result.status !== "ok") bad += 1;
    console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status, reason: result.reason }));
  }
  console.error(`${results.length} audits, ${results.length - bad} ok, ${bad} not ok`);
  process.exit(bad ? 1 : 0);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
