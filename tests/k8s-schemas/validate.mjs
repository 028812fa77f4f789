// Validate Prometheus Operator objects (monitoring.coreos.com) against the schemas compiled into
// @kubernetes-models/prometheus-operator (pinned in package-lock.json; see tests/data/crds/README.md for the
// operator version they come from and what they do not check).
//
// Input: a JSON list of objects on stdin. Each is validated by its apiVersion and kind; an apiVersion or kind
// the package has no model for is an error too (nothing passes unchecked).
// Output: a JSON list on stdout, one entry per object, in input order:
//   {"index", "apiVersion", "kind", "name", "valid", "errors": [{"path", "keyword", "message", "params"}]}
// and one line per error on stderr. Exit status: 0 all valid, 1 at least one invalid, 2 unusable input.
//
// Known limit (checked by tests/integration/test_k8s_wiring_schemas.py): the compiled schemas do not set
// additionalProperties, so an unknown or misspelt field is NOT an error here.

import { readFileSync } from "node:fs";

const GROUP = "monitoring.coreos.com";
const VERSIONS = new Set(["v1", "v1alpha1", "v1beta1"]);
const KIND = /^[A-Z][A-Za-z0-9]*$/;

function fail(message) {
  process.stderr.write(`validate.mjs: ${message}\n`);
  process.exit(2);
}

async function modelFor(apiVersion, kind) {
  const [group, version, extra] = String(apiVersion ?? "").split("/");
  if (group !== GROUP || !VERSIONS.has(version) || extra !== undefined) {
    return { error: `apiVersion ${JSON.stringify(apiVersion)} is not one of ${[...VERSIONS].map((v) => `${GROUP}/${v}`).join(", ")}` };
  }
  if (typeof kind !== "string" || !KIND.test(kind) || kind.endsWith("List")) {
    return { error: `kind ${JSON.stringify(kind)} is not a ${GROUP} kind` };
  }
  try {
    const module = await import(`@kubernetes-models/prometheus-operator/${GROUP}/${version}/${kind}`);
    const Model = module[kind];
    if (typeof Model !== "function" || Model.kind !== kind || Model.apiVersion !== apiVersion) {
      return { error: `no model for ${apiVersion} ${kind}` };
    }
    return { Model };
  } catch (err) {
    if (err && (err.code === "ERR_MODULE_NOT_FOUND" || err.code === "ERR_PACKAGE_PATH_NOT_EXPORTED")) {
      return { error: `no model for ${apiVersion} ${kind} in @kubernetes-models/prometheus-operator` };
    }
    throw err;
  }
}

function describe(err) {
  // ajv errors as @kubernetes-models/validate's ValidationError carries them
  if (err && Array.isArray(err.errors)) {
    return err.errors.map((e) => ({
      path: e.instancePath || "/",
      keyword: e.keyword,
      message: e.message ?? e.keyword,
      params: e.params ?? {},
    }));
  }
  return [{ path: "/", keyword: "exception", message: String(err && err.message ? err.message : err), params: {} }];
}

let objects;
try {
  objects = JSON.parse(readFileSync(0, "utf8"));
} catch (err) {
  fail(`stdin is not JSON: ${err.message}`);
}
if (!Array.isArray(objects)) {
  fail("stdin must be a JSON list of objects");
}

const results = [];
for (const [index, obj] of objects.entries()) {
  const apiVersion = obj?.apiVersion;
  const kind = obj?.kind;
  const name = obj?.metadata?.name ?? null;
  const entry = { index, apiVersion: apiVersion ?? null, kind: kind ?? null, name, valid: true, errors: [] };
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    entry.errors = [{ path: "/", keyword: "type", message: "must be an object", params: {} }];
  } else {
    const found = await modelFor(apiVersion, kind);
    if (found.error) {
      entry.errors = [{ path: "/", keyword: "kind", message: found.error, params: {} }];
    } else {
      try {
        new found.Model(obj).validate();
      } catch (err) {
        entry.errors = describe(err);
      }
    }
  }
  entry.valid = entry.errors.length === 0;
  for (const e of entry.errors) {
    process.stderr.write(`${index} ${kind ?? "?"} ${name ?? "?"}: ${e.path}: ${e.message} ${JSON.stringify(e.params)}\n`);
  }
  results.push(entry);
}
process.stdout.write(JSON.stringify(results, null, 1) + "\n");
process.exitCode = results.every((r) => r.valid) ? 0 : 1;
