// Byte-compiles Python sources with Pyodide's own CPython (3.12: its .pyc magic is not the host's), for
// tools/vendor.py, which lays the results out in zips. Offline: Pyodide's Node runtime from node_modules.
//
//   node tools/compile_python.mjs <folder> <prefix> [<folder> <prefix> ...]
//
// Every <folder>/**/x.py gets an unchecked-hash <folder>/**/x.pyc beside it (imported without the source
// being read or even present); its code's file name is <prefix>/<relative path>, where the module will live
// in Pyodide, so tracebacks name the right file ({major} and {minor} in a prefix are Python's version).
// Prints one JSON line: the Python version, the .pyc magic number (hex), the __pycache__ tag, and per
// folder the number of files compiled and those that failed ([path, error]: left as sources).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "..", "..");
const COMPILE = `
import importlib.util, json, os, py_compile, sys

def compile_folder(mount, prefix):
    prefix = prefix.format(major=sys.version_info.major, minor=sys.version_info.minor)
    compiled, failed = 0, []
    for folder, _, names in os.walk(mount):
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, mount)
            try:
                py_compile.compile(path, cfile=path + "c", dfile=f"{prefix}/{relative}", doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                compiled += 1
            except py_compile.PyCompileError as error:
                failed.append([relative, str(error.exc_value)])
    return {"compiled": compiled, "failed": failed}

json.dumps({"version": sys.version.split()[0], "magic": importlib.util.MAGIC_NUMBER.hex(),
            "cache_tag": sys.implementation.cache_tag, "folders": [compile_folder(m, p) for m, p in JOBS]})
`;

const args = process.argv.slice(2);
if (!args.length || args.length % 2) {
  console.error("usage: node tools/compile_python.mjs <folder> <prefix> [<folder> <prefix> ...]");
  process.exit(2);
}
const { loadPyodide } = await import(resolve(ROOT, "node_modules", "pyodide", "pyodide.mjs"));
const pyodide = await loadPyodide({ indexURL: resolve(ROOT, "node_modules", "pyodide") + "/" });
const jobs = [];
for (let i = 0; i < args.length; i += 2) {
  const mount = `/compile/${i / 2}`;
  pyodide.FS.mkdirTree(mount);
  pyodide.mountNodeFS(mount, resolve(args[i]));
  jobs.push([mount, args[i + 1].replace(/\/+$/, "")]);
}
pyodide.globals.set("JOBS", pyodide.toPy(jobs));
console.log(pyodide.runPython(COMPILE));
