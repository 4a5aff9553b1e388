"""Running the user's entry module at build time, as a Spawn program's process would run it,
minus what a component cannot do.

A program written for the Spawn Python SDK is a process: `main` registers the actors with
`Spawn()...start()`, which starts a server, and then often acts as a client of the proxy
(`Spawn.create_actor_ref(...).invoke(...)`). In a component the host serves the actors and
no program runs: `spawn-wasm build` runs the entry module once, at build time, to learn the
actors. So here `start()` records the actors and stops the entry module (`Stop`), client
calls made at build time reach no host (they are skipped), and each of those, with every
client call in the code `start()` skips, is reported as a build warning naming its file and
line: a line starting with `WARNING_PREFIX` in the file the builder names (componentize-py
shows the interpreter's output only when the build fails; then the lines are on stderr too),
which the builder prints."""

import ast
import importlib.util
import os
import runpy
import sys

# The prefix of a warning line on stderr; the builder picks these lines out.
WARNING_PREFIX = "spawn-wasm-warning: "

# The names whose calls are client calls of the Spawn Python SDK.
_CLIENT_CALLS = frozenset({"create_actor_ref", "invoke", "spawn", "ActorRef"})

_SDK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_running = False
_warnings_file = None


class Stop(BaseException):
    """Raised by `Spawn.start()` while the entry module runs at build time: the rest of the
    module is the program's client part, which a component does not run. A `BaseException`,
    so that a program's `except Exception` does not swallow it."""


def running():
    """Whether the entry module is running at build time (no action is: client calls made
    now are outside an action)."""
    return _running


def warn(filename, line, text):
    """Reports a build warning about `filename`, line `line`."""
    warning = f"{WARNING_PREFIX}{filename}:{line}: {text}"
    print(warning, file=sys.stderr, flush=True)
    if _warnings_file is not None:
        with open(_warnings_file, "a", encoding="utf-8") as file:
            file.write(warning + "\n")


def user_frame():
    """The file and line of the innermost caller outside this SDK."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_SDK_DIR + os.sep):
        frame = frame.f_back
    if frame is None:
        return "<unknown>", 0
    return frame.f_code.co_filename, frame.f_lineno


def run_entry(module, warnings_file=None):
    """Runs `module` as `__main__`, as `python path/to/module.py` would: its directory is on
    the module path (after the SDK's), and `Spawn.start()` ends it. Warnings are also written
    to `warnings_file`, if given. Returns the entry's file and the directory the user's
    modules are imported from (the one `module` is found in)."""
    global _running, _warnings_file
    _warnings_file = warnings_file
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise ModuleNotFoundError(f"no module named {module!r}")
    script_dir = os.path.dirname(spec.origin)
    root = script_dir
    for _ in module.split(".")[1:]:
        root = os.path.dirname(root)
    if script_dir not in sys.path:
        after_sdk = sys.path.index(_SDK_DIR) + 1 if _SDK_DIR in sys.path else 0
        sys.path.insert(after_sdk, script_dir)
    _running = True
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except Stop:
        pass
    finally:
        _running = False
    return spec.origin, root


def skipped_after_start(filename, line):
    """Warns about the code `Spawn.start()` at `filename`:`line` skips: where it begins, and
    each client call in it."""
    tree = _parse(filename)
    if tree is None:
        return
    executed = list(_executed_at_import(tree))
    around = [node for node in executed if isinstance(node, ast.stmt) and node.lineno <= line <= node.end_lineno]
    # The innermost statement holding the call: the enclosing `if __name__ == ...` runs on.
    end = min(around, key=lambda node: node.end_lineno - node.lineno).end_lineno if around else line
    skipped = [node for node in executed if isinstance(node, ast.stmt) and node.lineno > end]
    if not skipped:
        return
    first = min(node.lineno for node in skipped)
    warn(
        filename,
        first,
        "the code after Spawn.start() does not run in a component: the host serves the actors, "
        "and no program runs beside them",
    )
    for node in sorted(_client_calls(executed, end), key=lambda node: (node.lineno, node.col_offset)):
        warn(filename, node.lineno, client_call_text(ast.unparse(node.func)))


def client_call_text(name):
    """The warning about a client call outside an action."""
    return (
        f"{name}(...) outside an action is not run in a component: call actors from inside an "
        "action, or from outside through the host's client API (spawn-wasm invoke)"
    )


def check_effects(entry_file, root, system):
    """Warns about every `Effect(...)` in the entry module and the user's modules (those
    imported from `root`) whose `system` may differ from `system`, the actors' own: an
    effect cannot leave it. (The entry ran as `__main__`, which `runpy` removed again from
    `sys.modules`.)"""
    files = {getattr(module, "__file__", None) or "" for module in list(sys.modules.values())}
    files = {name for name in files if name.startswith(root + os.sep) and not name.endswith("_pb2.py")}
    for filename in sorted(files | {entry_file}):
        tree = _parse(filename)
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Call) and _called_name(node) == "Effect":
                given = _system_argument(node)
                if given is not None and not (isinstance(given, ast.Constant) and given.value in (None, system)):
                    warn(
                        filename,
                        node.lineno,
                        f"Effect(system={ast.unparse(given)}): in a component an effect stays in its "
                        f"actor's system ({system!r}); another system fails the turn",
                    )


def _system_argument(call):
    for keyword in call.keywords:
        if keyword.arg == "system":
            return keyword.value
    return call.args[1] if len(call.args) > 1 else None


def _parse(filename):
    try:
        with open(filename, encoding="utf-8") as file:
            return ast.parse(file.read(), filename)
    except (OSError, SyntaxError, ValueError):
        return None


def _executed_at_import(tree):
    """The nodes of a module that run when it runs: not the bodies of functions."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))


def _called_name(call):
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _client_calls(nodes, after):
    return [
        node
        for node in nodes
        if isinstance(node, ast.Call) and node.lineno > after and _called_name(node) in _CLIENT_CALLS
    ]
