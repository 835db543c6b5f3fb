// The peer: an upstream FeathersJS v5 server with the authentication the Feathers guide sets up
// (koa, the jwt and local strategies, bcryptjs at authentication-local's default cost of 10,
// a memory users service whose `get` requires a jwt). Started by bench/run.mjs on the port in
// argv[2]; prints "ready" when it listens.
import { feathers } from "@feathersjs/feathers";
import { koa, rest, bodyParser, errorHandler } from "@feathersjs/koa";
import { AuthenticationService, JWTStrategy, authenticate } from "@feathersjs/authentication";
import { LocalStrategy, hooks as localHooks } from "@feathersjs/authentication-local";
import { MemoryService } from "@feathersjs/memory";

const port = Number(process.argv[2]);
const app = koa(feathers());
app.set("authentication", {
  secret: "bench-secret-bench-secret-bench-secret",
  entity: "user",
  service: "users",
  authStrategies: ["jwt", "local"],
  jwtOptions: { header: { typ: "access" }, audience: "https://example.invalid", algorithm: "HS256", expiresIn: "1d" },
  local: { usernameField: "email", passwordField: "password" },
});
app.use(errorHandler());
app.use(bodyParser());
app.configure(rest());
const auth = new AuthenticationService(app);
auth.register("jwt", new JWTStrategy());
auth.register("local", new LocalStrategy());
app.use("authentication", auth);
app.use("users", new MemoryService({ id: "id", startId: 1 }));
app.service("users").hooks({
  before: { get: [authenticate("jwt")], create: [localHooks.hashPassword("password")] },
  after: { all: [localHooks.protect("password")] },
});
await app.listen(port);
console.log("ready");
