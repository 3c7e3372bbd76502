// Reference hops for benchmark (e2), each a separate process in front of the same web server:
//   pipe: a bare TCP byte pipe (node:net, one upstream connection per client connection, no HTTP
//         at all): the least any Node process in the path costs on this machine;
//   http: the plain node:http reverse proxy (http.createServer + a keep-alive http.Agent, bodies
//         piped both ways): what a hand-rolled Node proxy costs.
// Usage: node floor-web.mjs <pipe|http> <upstream port>; prints the port it listens on.
import * as http from "node:http";
import * as net from "node:net";

const [kind, upstreamPort] = process.argv.slice(2);
const upstream = { host: "127.0.0.1", port: Number(upstreamPort) };
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host", "te", "trailer", "proxy-authorization", "proxy-authenticate"]);
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_BY_HOP.has(k)));

let server;
if (kind === "pipe") {
  server = net.createServer((client) => {
    const up = net.connect({ ...upstream, noDelay: true });
    client.setNoDelay(true);
    client.pipe(up).pipe(client);
    const close = () => {
      client.destroy();
      up.destroy();
    };
    client.on("error", close);
    up.on("error", close);
  });
} else if (kind === "http") {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  server = http.createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
    const out = http.request({ ...upstream, path: req.url, method: req.method, headers: endToEnd(req.headers), agent }, (up) => {
      res.writeHead(up.statusCode, endToEnd(up.headers));
      up.pipe(res);
    });
    out.on("error", (err) => {
      res.writeHead(502);
      res.end(err.message);
    });
    req.pipe(out);
  });
} else {
  process.stderr.write("usage: node floor-web.mjs <pipe|http> <upstream port>\n");
  process.exit(2);
}
server.listen({ host: "127.0.0.1", port: 0 }, () => process.stdout.write(`${server.address().port}\n`));
