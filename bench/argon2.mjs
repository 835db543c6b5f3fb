// Argon2id at the worker's parameters (m=19456 KiB, t=2, p=1, 32-byte hash), natively with
// Debian's `argon2` (the reference implementation's CLI) and inside workerd through the e2e
// build's POST /__contract/argon2, so that `make bench` can say what wasm costs over native.
import { execFileSync } from "node:child_process";

export const ARGON2_PARAMS = { m: 19456, t: 2, p: 1 };

/** CPU ms per hash of the native CLI: `times` reports the children's user and system time. */
export function nativeArgon2Ms(n) {
  const { m, t, p } = ARGON2_PARAMS;
  const script = `for i in $(seq ${n}); do printf 'bench password %s' "$i" | argon2 saltsaltsaltsalt -id -t ${t} -k ${m} -p ${p} -l 32 -r >/dev/null; done; times`;
  const out = execFileSync("bash", ["-c", script]).toString().trim().split("\n");
  const seconds = (s) => {
    const [, min, sec] = /(\d+)m([\d.]+)s/.exec(s) ?? [0, 0, 0];
    return Number(min) * 60 + Number(sec);
  };
  const [user, sys] = out[out.length - 1].split(/\s+/);
  return ((seconds(user) + seconds(sys)) * 1000) / n;
}

/** CPU ms per hash in workerd (`cpuMs` of its process around one request of `n` hashes). */
export async function workerArgon2Ms(w, cpuMs, n) {
  const hash = async (k) => {
    const res = await fetch(`${w.url}/__contract/argon2?n=${k}`, { method: "POST" });
    if (!res.ok) throw new Error(`argon2 in the worker: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  await hash(1);
  const c0 = cpuMs(w.pid);
  await hash(n);
  return (cpuMs(w.pid) - c0) / n;
}
