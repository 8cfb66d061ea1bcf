// Validates Kubernetes objects against the Kubernetes and KEDA schemas.
//
//   node validate.mjs DIR|FILE ...
//
// A directory is searched for kustomizations: every one of kind Kustomization
// is rendered with `kubectl kustomize` and its objects validated; every YAML
// file under the directory must be used by some kustomization (a manifest no
// overlay renders is never validated, so it is an error). A file is read as
// YAML documents and validated as it is.
//
// Each object is checked twice:
//  1. kubernetes-models' JSON-schema validation (.validate()): types, required
//     fields, formats. Unknown kinds (no model in kubernetes-models or
//     @kubernetes-models/keda) are errors, never skipped.
//  2. unknown fields: the schemas let unknown properties through, but the API
//     server refuses them (kubectl's strict field validation), so the objects
//     are also type-checked as object literals of the models' TypeScript
//     types, where any property the type does not declare is an error.
//
// Prints one line per error and a summary; exits 1 on any error, 2 on usage.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));

// apiVersion -> the module folder of its models. Only these groups exist.
function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (!version || !/^[A-Za-z0-9]+$/.test(kind)) return null;
  if (group === "keda.sh" || group === "eventing.keda.sh") {
    return `@kubernetes-models/keda/${group}/${version}/${kind}`;
  }
  // Core ("v1") models live at kubernetes-models/v1/KIND.
  return `kubernetes-models/${group ? group + "/" : ""}${version}/${kind}`;
}

function moduleExists(spec) {
  // Resolve the types file through the package's exports, as TypeScript will.
  const [pkg, rest] = spec.startsWith("@")
    ? [spec.split("/").slice(0, 2).join("/"), spec.split("/").slice(2).join("/")]
    : [spec.split("/")[0], spec.split("/").slice(1).join("/")];
  return fs.existsSync(path.join(here, "node_modules", pkg, rest + ".d.ts"));
}

function describe(obj) {
  const m = (obj && obj.metadata) || {};
  return `${obj && obj.kind}/${m.name || "?"}`;
}

// ---- inputs

function readDocs(text, source) {
  const docs = [];
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${source}: YAML: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) docs.push(value);
  }
  return docs;
}

function yamlFilesUnder(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFilesUnder(p));
    else if (/\.ya?ml$/.test(entry.name)) out.push(p);
  }
  return out.sort();
}

// Files a kustomization (or component) uses directly: resources, patches,
// components and its own file. Remote resources are not allowed here.
function usedFiles(kfile, errors) {
  const dir = path.dirname(kfile);
  const k = YAML.parse(fs.readFileSync(kfile, "utf8")) || {};
  const used = [kfile];
  const refs = [...(k.resources || []), ...(k.components || [])];
  for (const p of k.patches || []) if (p.path) refs.push(p.path);
  for (const p of k.patchesStrategicMerge || []) if (typeof p === "string" && !p.includes("\n")) refs.push(p);
  for (const p of k.patchesJson6902 || []) if (p.path) refs.push(p.path);
  for (const ref of refs) {
    const p = path.resolve(dir, ref);
    if (!fs.existsSync(p)) {
      errors.push(`${path.relative(process.cwd(), kfile)}: ${ref}: no such file or directory`);
      continue;
    }
    if (fs.statSync(p).isDirectory()) {
      for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
        if (fs.existsSync(path.join(p, name))) used.push(path.join(p, name));
      }
    } else {
      used.push(p);
    }
  }
  return { kind: k.kind || "Kustomization", used };
}

// [{source, objects}] for every input; errors for what cannot be rendered.
function collect(inputs, errors) {
  const sets = [];
  for (const input of inputs) {
    if (!fs.existsSync(input)) {
      errors.push(`${input}: no such file or directory`);
      continue;
    }
    if (!fs.statSync(input).isDirectory()) {
      try {
        sets.push({ source: input, objects: readDocs(fs.readFileSync(input, "utf8"), input) });
      } catch (e) {
        errors.push(e.message);
      }
      continue;
    }
    const files = yamlFilesUnder(input).map((f) => path.resolve(f));
    const used = new Set();
    const kustomizations = files.filter((f) => /^kustomization\.ya?ml$/.test(path.basename(f)));
    if (kustomizations.length === 0) errors.push(`${input}: no kustomization.yaml under it`);
    for (const kfile of kustomizations) {
      const { kind, used: u } = usedFiles(kfile, errors);
      u.forEach((f) => used.add(path.resolve(f)));
      if (kind !== "Kustomization") continue; // a Component renders only inside a Kustomization
      const dir = path.relative(process.cwd(), path.dirname(kfile)) || ".";
      try {
        const text = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        sets.push({ source: dir, objects: readDocs(text, dir) });
      } catch (e) {
        const why = e.code === "ENOENT" ? "kubectl not found (install kubectl >= 1.27, which has kustomize)"
                                         : (e.stderr || e.message).trim().split("\n")[0];
        errors.push(`${dir}: does not render: ${why}`);
      }
    }
    for (const f of files) {
      if (!used.has(f)) errors.push(`${path.relative(process.cwd(), f)}: used by no kustomization, so never validated`);
    }
  }
  return sets;
}

// ---- checks

async function schemaCheck(obj, where, errors) {
  if (!obj || typeof obj !== "object" || !obj.apiVersion || !obj.kind) {
    errors.push(`${where}: not a Kubernetes object (no apiVersion or kind)`);
    return null;
  }
  const spec = modelModule(String(obj.apiVersion), String(obj.kind));
  if (!spec || !moduleExists(spec)) {
    errors.push(`${where}: unknown kind ${obj.apiVersion} ${obj.kind} (no schema for it)`);
    return null;
  }
  const mod = await import(spec);
  const Model = mod[obj.kind];
  try {
    new Model(obj).validate();
  } catch (e) {
    errors.push(`${where}: ${e.message}`);
  }
  return spec;
}

// Type-checks every object as a literal of its model's interface; returns
// the unknown-field (and type) errors, one per diagnostic.
function strictCheck(items, errors) {
  if (items.length === 0) return;
  const lines = [];
  const owner = []; // line number -> item index
  items.forEach((item, i) => {
    lines.push(`import type { I${item.obj.kind} as T${i} } from "${item.spec}";`);
    owner.push(-1);
  });
  items.forEach((item, i) => {
    const body = `export const o${i}: T${i} = ${JSON.stringify(item.obj, null, 2)};`.split("\n");
    for (const l of body) {
      lines.push(l);
      owner.push(i);
    }
  });
  // In the validator's folder, so that node_modules resolves.
  const file = path.join(here, "__manifests__.mts");
  const source = lines.join("\n");
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === file ? ts.createSourceFile(name, source, lang, true) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists;
  host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
  const readFile = host.readFile;
  host.readFile = (name) => (path.resolve(name) === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!d.file || path.resolve(d.file.fileName) !== file) {
      errors.push(`type check: ${text}`);
      continue;
    }
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const i = owner[line];
    const where = i >= 0 ? items[i].where : "imports";
    errors.push(`${where}: ${text} (at: ${lines[line].trim()})`);
  }
}

async function main() {
  const inputs = process.argv.slice(2);
  if (inputs.length === 0) {
    console.error("usage: node validate.mjs DIR|FILE ...");
    process.exit(2);
  }
  const errors = [];
  const sets = collect(inputs, errors);
  const typed = [];
  let count = 0;
  for (const set of sets) {
    if (set.objects.length === 0) errors.push(`${set.source}: no objects`);
    for (const obj of set.objects) {
      count++;
      const where = `${set.source}: ${describe(obj)}`;
      const spec = await schemaCheck(obj, where, errors);
      if (spec) typed.push({ obj, spec, where });
    }
  }
  strictCheck(typed, errors);
  for (const e of errors) console.log(`error: ${e}`);
  const summary = sets.map((s) => `${s.source} ${s.objects.length}`).join(", ");
  console.log(`${count} objects from ${sets.length} sources (${summary}): ${errors.length} errors`);
  process.exit(errors.length ? 1 : 0);
}

await main();
