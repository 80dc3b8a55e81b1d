"""The package's layout: no import circle (lazy imports included), no torch in the
estimators' package, no module over about 400 lines."""

import ast
from pathlib import Path

import sklearn_icc

ROOT = Path(sklearn_icc.__file__).parent


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("sklearn_icc",) + path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imports(name, path):
    """Every sklearn_icc module that ``path`` imports, at module level or inside a function."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_no_import_circle():
    modules = dict(_modules())
    graph = {name: {t for t in _imports(name, path) if t in modules and t != name} for name, path in modules.items()}
    state, stack, circles = {}, [], []

    def visit(name):
        state[name] = "open"
        stack.append(name)
        for target in graph[name]:
            if state.get(target) == "open":
                circles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = "done"

    for name in graph:
        if name not in state:
            visit(name)
    assert circles == []


def test_the_estimators_package_holds_no_torch_code():
    for path in (ROOT / "cluster").glob("*.py"):
        assert not any(t == "torch" or t.startswith("torch.") for t in _imports("sklearn_icc.cluster.x", path)), path


def test_no_module_over_about_400_lines():
    long = {str(path.relative_to(ROOT)): n for _, path in _modules() if (n := len(path.read_text().splitlines())) > 420}
    assert long == {}
