"""A local GCS emulator on 127.0.0.1, so that tests can run on gs:// paths without a network.

Use: `from gcs_emulator import gcs_env` in a test file; a test taking `gcs_env` gets a Gcs with
`.env` (os.environ plus the emulator settings, for subprocesses) and `.url(name)` (a gs:// folder
no other test uses). In-process code sees the emulator too: the fixture puts the same variables in
os.environ for the test, and turns off gcsfs's listings cache there as the variables do in a
subprocess.

Run as a script, this file is the emulator itself, patched to behave as GCS does (see _serve).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

BUCKET = 'bkt'


@dataclasses.dataclass
class Gcs:
  env: dict  # os.environ plus `settings`: pass as env= to a subprocess.
  settings: dict  # Only the variables that point the stack at the emulator.
  bucket: str  # 'gs://bkt'
  _names = itertools.count()

  def url(self, name: str = 'run') -> str:
    """A fresh gs:// folder: the emulator lives for the session, so tests must not share paths."""
    return f'{self.bucket}/{name}-{next(self._names)}'


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _serve(argv: list[str]) -> int:
  """The emulator's own main, patched where it differs from GCS in ways the stack notices.

  Downloads carry x-goog-generation: TensorStore reads an object's generation from it, and without
  it an OCDBT manifest update (Orbax's array store) now and then failed with "Malformed
  StorageGeneration" (2 of 12 re-saves in a new process; none of 32 with the header). And objects
  move (gcsfs's rename): unpatched, gcsfs retries the 501 for about 33 s, then copies and deletes.
  """
  from http import HTTPStatus

  from gcp_storage_emulator import server, settings
  from gcp_storage_emulator.__main__ import main
  from gcp_storage_emulator.handlers import objects
  plain = objects.download

  def download(request, response, storage, *args, **kwargs):
    plain(request, response, storage, *args, **kwargs)
    if response.status < 300:
      obj = storage.get_file_obj(request.params['bucket_name'], request.params['object_id'])
      response['x-goog-generation'] = str(obj['generation'])
      response['x-goog-metageneration'] = str(obj['metageneration'])

  def move(request, response, storage, *args, **kwargs):
    bucket, src, dst = (request.params[k] for k in ('bucket_name', 'object_id', 'dest_object_id'))
    try:
      moved = objects._copy(request.base_url, storage, bucket, src, bucket, dst)
    except objects.NotFound:
      response.status = HTTPStatus.NOT_FOUND
      return
    objects._delete(storage, bucket, src)
    response.json(moved)

  objects.download = download  # objects.get (alt=media) calls it by this name.
  for _, handlers in server.HANDLERS:
    for method, handler in handlers.items():
      if handler is plain:
        handlers[method] = download
  move_route = (rf'^{settings.API_ENDPOINT}/b/(?P<bucket_name>[-.\w]+)/o/(?P<object_id>.*[^/]+)'
                r'/moveTo/o/(?P<dest_object_id>.*[^/]+)$', {'POST': move})
  server.HANDLERS = (move_route, *server.HANDLERS)  # Before the routes it would also match.
  return main(argv)


@contextlib.contextmanager
def gcs_emulator(timeout: float = 30.0):
  """Starts an in-memory emulator with bucket BUCKET on a free port; yields a Gcs, then stops it."""
  # Both come with the test extra: etils.epath reaches gs:// through gcsfs when EPATH_USE_TF=false.
  import gcp_storage_emulator  # noqa: F401
  import gcsfs  # noqa: F401
  port = _free_port()
  host = f'http://127.0.0.1:{port}'
  settings = {
      'STORAGE_EMULATOR_HOST': host,  # gcsfs (and google-cloud-storage).
      'TENSORSTORE_GCS_HTTP_URL': host,  # tensorstore: Orbax's array writer.
      'EPATH_USE_TF': 'false',  # etils: otherwise tf.io.gfile, which ignores the emulator.
      'NO_GCE_CHECK': 'true',  # gcsfs: no credentials wanted, skip asking the metadata server.
      # gcsfs: not the filesystem that asks a gRPC control API (absent from the emulator) for the
      # bucket's type before every call, with a warning each time it fails.
      'GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT': 'false',
      # gcsfs: no cached listings, which hide what another process wrote and even cut reads of a
      # file it rewrote longer to the cached size.
      'FSSPEC_GCS_USE_LISTINGS_CACHE': 'false',
  }
  log = tempfile.TemporaryFile('w+')  # Not a pipe: a full pipe would block the emulator.
  proc = subprocess.Popen(
      [sys.executable, __file__, 'start', '--host=127.0.0.1', f'--port={port}', '--in-memory',
       f'--default-bucket={BUCKET}', '--quiet'], stdout=log, stderr=subprocess.STDOUT)
  try:
    deadline = time.monotonic() + timeout
    while True:
      try:  # Answers once the server is up and the default bucket exists.
        urllib.request.urlopen(f'{host}/storage/v1/b/{BUCKET}', timeout=2).close()
        break
      except OSError:
        if proc.poll() is not None:
          log.seek(0)
          raise RuntimeError(f'the GCS emulator exited: {log.read()[-2000:]}') from None
        if time.monotonic() > deadline:
          raise TimeoutError(f'the GCS emulator did not answer on {host} in {timeout} s') from None
        time.sleep(0.1)
    yield Gcs(env={**os.environ, **settings}, settings=settings, bucket=f'gs://{BUCKET}')
  finally:
    proc.terminate()
    try:
      proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
      proc.kill()
      proc.wait()
    log.close()


_session_gcs = None


@pytest.fixture
def gcs_env(request, monkeypatch):
  """One emulator for the session, started by the first test that asks (so a run of tests that do
  not use it never pays for it) and stopped when the session ends; its settings are also put in
  this test's os.environ."""
  global _session_gcs
  if _session_gcs is None:
    stack = contextlib.ExitStack()
    _session_gcs = stack.enter_context(gcs_emulator())
    request.config.add_cleanup(stack.close)
  for key, value in _session_gcs.settings.items():
    monkeypatch.setenv(key, value)
  # In this process fsspec read its FSSPEC_* variables on import, and epath keeps its filesystem
  # and its choice of TensorFlow's (made at its first use, maybe by an earlier test): the listings
  # cache goes off by hand, and the next gs:// call chooses and makes its filesystem anew, here
  # and again after the test.
  import fsspec.config
  from etils.epath import backend
  from etils.epath import gpath
  monkeypatch.setitem(fsspec.config.conf, 'gcs', {'use_listings_cache': False})
  def forget():
    gpath._is_tf_installed.cache_clear()
    type(backend.fsspec_backend)._get_filesystem.cache_clear()
  forget()
  request.addfinalizer(forget)
  return _session_gcs


if __name__ == '__main__':
  sys.exit(_serve(sys.argv[1:]))
