#!/usr/bin/python3
"""Execute tslab notebooks headless, as CI and `npm run notebooks` do.

Runs each notebook with nbclient and the repository's tslab kernelspec. Notebooks import the workspace
packages by name (the kernel preloads tsx; types come from the packages' built declarations). The kernel's
working folder is notebooks/, not the repository root: tslab's TypeScript watcher aborts a cell with
"Unexpected pending rebuildTimer" when files appear under its folder while the cell runs (crop caches,
artifacts), and nothing is written under notebooks/ during a run. Parameters override the cell tagged
`parameters`, as papermill does: a cell tagged `injected-parameters` is inserted after it, assigning the
new values (the parameters cell must declare them with `let`). Errors are never allowed: the first failing
cell stops the run, and the exit status is 1.

Debian's python3 is required (python3-nbclient, jupyter-client), not a pyenv interpreter.
"""
import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
RUN_MARKER = re.compile(r"\brun:([0-9a-f]{16})\b")


def parse_value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def declared_parameters(nb):
    """Index of the cell tagged `parameters` and the names it declares with `let`."""
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    return index, (set(re.findall(r"\blet\s+(\w+)", nb.cells[index].source)) if index is not None else set())


def inject_parameters(nb, params):
    """Overrides the parameters this notebook declares; the others do not apply to it. Cells injected by an
    earlier execution (kept in executed notebooks to show what was used) are removed first, as papermill does,
    or their assignments would override the new ones."""
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    index, declared = declared_parameters(nb)
    own = {name: value for name, value in params.items() if name in declared}
    if not own:
        return
    source = "\n".join(f"{name} = {json.dumps(value)};" for name, value in own.items())
    cell = nbformat.v4.new_code_cell(source=source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)


def run_ids(nb):
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else json.dumps(output.get("data", {}))
            found.extend(RUN_MARKER.findall(text))
    return sorted(set(found))


def write_atomic(nb, out):
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, out)


def link_records(out, ids):
    """Adds the executed notebook's path to each run record it displayed (kept with the run)."""
    relative = os.path.relpath(out, ROOT)
    for run_id in ids:
        matches = list((ROOT / "experiments" / "records").glob(f"*/{run_id}.json"))
        path = matches[0] if matches else None
        if path is None:
            continue
        record = json.loads(path.read_text())
        notebooks = sorted(set(record.get("notebooks", [])) | {relative})
        if notebooks != record.get("notebooks"):
            record["notebooks"] = notebooks
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
            os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out-dir", type=Path, help="write executed notebooks here (default: in place)")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a parameter (VALUE parsed as JSON when it parses)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--link-records", action="store_true",
                        help="record each executed notebook's path in the run records it shows (run:<id> markers)")
    args = parser.parse_args()

    os.environ["JUPYTER_PATH"] = str(ROOT / "jupyter") + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    os.environ["PATH"] = str(ROOT / "node_modules" / ".bin") + os.pathsep + os.environ["PATH"]
    params = {name: parse_value(value) for name, value in args.param}
    notebooks = [(path, nbformat.read(str(path), as_version=4)) for path in args.notebooks]
    # A parameter no notebook declares is a typo, not a no-op.
    declared = set().union(*(declared_parameters(nb)[1] for _, nb in notebooks))
    unknown = sorted(set(params) - declared)
    if unknown:
        raise SystemExit(f"parameters {unknown} are declared (with `let` in a cell tagged 'parameters') by none of the notebooks; declared: {sorted(declared)}")
    failed = 0
    for path, nb in notebooks:
        nbformat.validator.normalize(nb)
        inject_parameters(nb, params)
        start = time.monotonic()
        client = NotebookClient(nb, kernel_name="tslab", timeout=args.timeout, resources={"metadata": {"path": str(ROOT / "notebooks")}})
        try:
            client.execute()
        except CellExecutionError as error:
            failed += 1
            first_line = str(error).strip().splitlines()[-1] if str(error).strip() else "error"
            print(f"FAIL {path} after {time.monotonic() - start:.1f} s: {first_line}", file=sys.stderr)
            print(str(error), file=sys.stderr)
            # tslab reports TypeScript compile errors on stderr, not in the error itself.
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "stream" and output.get("name") == "stderr":
                        print(output.get("text", ""), end="", file=sys.stderr)
            continue
        out = (args.out_dir / path.name) if args.out_dir else path
        write_atomic(nb, out)
        ids = run_ids(nb)
        if args.link_records:
            link_records(out, ids)
        print(f"ok   {path} -> {out} in {time.monotonic() - start:.1f} s (runs: {', '.join(ids) or 'none'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
