"""The package's import graph: imports run one way (no cycle), and no module reaches into another's
private names. Read from the source with `ast`, function-level imports included."""

import ast
import functools
import pathlib
import pickle
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'textcls_jax'


_PARSE = """
import ast, pathlib, pickle, sys
package = pathlib.Path(sys.argv[1])
trees = {}
for path in sorted(package.rglob('*.py')):
  parts = path.relative_to(package.parent).with_suffix('').parts
  name = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
  trees[name] = ast.parse(path.read_text(), filename=str(path))
pickle.dump(trees, sys.stdout.buffer)
"""


@functools.lru_cache(maxsize=None)
def _modules() -> dict:
  """Dotted module name -> its parsed source, for every .py file of the package.

  Parsed in a fresh interpreter: in the full suite, after other tests, CPython 3.11.7's ast.parse
  once failed with "SystemError: AST constructor recursion depth mismatch" (a CPython bug that
  depends on the interpreter's state, not on the source).
  """
  out = subprocess.run([sys.executable, '-c', _PARSE, str(PACKAGE)], capture_output=True,
                       check=True)
  return pickle.loads(out.stdout)


def _imports(tree, modules) -> list:
  """[(imported module, {names taken from it}, alias it is bound to or None, line)]."""
  found = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        if alias.name in modules:
          found.append((alias.name, set(), alias.asname or alias.name, node.lineno))
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      for alias in node.names:
        submodule = f'{node.module}.{alias.name}'
        if submodule in modules:  # `from pkg import module`
          found.append((submodule, set(), alias.asname or alias.name, node.lineno))
        elif node.module in modules:  # `from module import name`
          found.append((node.module, {alias.name}, None, node.lineno))
  return found


def _graph():
  modules = _modules()
  return modules, {name: {target for target, *_ in _imports(tree, modules) if target != name}
                   for name, tree in modules.items()}


def _cycle(graph):
  """One import cycle as a list of modules, or None."""
  state = {}  # module -> 'open' while on the DFS path, 'done' after.

  def visit(node, path):
    state[node] = 'open'
    for nxt in sorted(graph[node]):
      if state.get(nxt) == 'open':
        return path[path.index(nxt):] + [nxt]
      if nxt not in state:
        found = visit(nxt, path + [nxt])
        if found:
          return found
    state[node] = 'done'
    return None

  for start in sorted(graph):
    if start not in state:
      found = visit(start, [start])
      if found:
        return found
  return None


def test_the_import_graph_has_no_cycle():
  modules, graph = _graph()
  assert {'textcls_jax.train', 'textcls_jax.train_state', 'textcls_jax.data.prepare'} <= set(graph)
  assert 'textcls_jax.train_state' in graph['textcls_jax.train']  # The reader reads imports.
  assert _cycle(graph) is None, ' -> '.join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
  assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': set()}) == ['a', 'b', 'c', 'a']
  assert _cycle({'a': {'b'}, 'b': set()}) is None


def test_models_and_the_numerics_do_not_import_the_data_side():
  _, graph = _graph()
  for name in graph:
    if name.startswith('textcls_jax.models') or name in ('textcls_jax.masking',
                                                          'textcls_jax.tasks'):
      data = sorted(t for t in graph[name] if t.startswith('textcls_jax.data'))
      assert not data, f'{name} imports {data}'


def test_no_module_uses_another_modules_private_names():
  modules = _modules()
  misuse = []
  for name, tree in modules.items():
    aliases = {}
    for target, names, alias, line in _imports(tree, modules):
      if target == name:
        continue
      misuse += [f'{name}:{line} imports {target}.{n}' for n in names if n.startswith('_')]
      if alias:
        aliases[alias] = target
    for node in ast.walk(tree):
      if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
          and node.value.id in aliases and node.attr.startswith('_')
          and not node.attr.startswith('__')):
        misuse.append(f'{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}')
  assert not misuse, misuse


def test_the_architecture_page_lists_every_module():
  readme = (PACKAGE.parent / 'docs' / 'architecture.md').read_text()
  layout = readme[readme.index('## Layout'):]
  layout = layout[:layout.index('```', layout.index('```') + 3)]
  missing = []
  for path in sorted(PACKAGE.rglob('*.py')):
    rel = path.relative_to(PACKAGE).as_posix()
    if rel == '__init__.py' or rel == 'data/__init__.py':
      continue
    listed = path.name if rel.startswith('models/') else rel
    if listed not in layout:
      missing.append(rel)
  assert not missing, f'docs/architecture.md "Layout" does not list {missing}'
