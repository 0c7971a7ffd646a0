"""Model registry: `config.model.name` -> encoder class; `build_for_task(config, ...)` -> the model
a run trains (a classifier, a masked LM or a replaced-token detector) with its example inputs."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from textcls_jax import config_base
from textcls_jax import masking

from textcls_jax.models.cnn import CNNEncoder
from textcls_jax.models.heads import ClassificationHead, Classifier, MaskedLM, MLMHead
from textcls_jax.models.heads import ReplacedTokenDetector
from textcls_jax.models import lora as lora_lib
from textcls_jax.models.rnn import RNNEncoder
from textcls_jax.models.transformer import TransformerEncoder

# The Flax module of each of config_base.ENCODER_FAMILIES (tests/test_models.py checks both name
# the same families).
ENCODERS = {'rnn': RNNEncoder, 'cnn': CNNEncoder, 'transformer': TransformerEncoder}
_HEAD_KEYS = ('head_hidden_dim', 'head_dropout', 'tie_embeddings')
# Encoder dataclass fields that are not config keys (Flax's own, and the tokenizer's vocabulary).
# (`lora` comes from config.finetune: build_for_task.)
_NOT_CONFIG_FIELDS = frozenset({'parent', 'name', 'vocab_size', 'token_embed', 'lora'})


def build_encoder(model_config, vocab_size: int, lora=None):
  """An encoder from `config.model`: its `name` picks the family, the other keys are its fields.
  lora: None, or a lora.LoRA for a family of config_base.LORA_FAMILIES."""
  cfg = dict(model_config)
  name = cfg.pop('name')
  if name not in ENCODERS:
    raise ValueError(f'unknown model.name {name!r}; choose from {", ".join(ENCODERS)}')
  cls = ENCODERS[name]
  fields = {f.name for f in dataclasses.fields(cls)} - _NOT_CONFIG_FIELDS
  for key in _HEAD_KEYS:
    cfg.pop(key, None)
  unknown = set(cfg) - fields
  if unknown:
    raise ValueError(f'model.{sorted(unknown)[0]} is not a field of the {name} encoder; '
                     f'its fields are: {", ".join(sorted(fields | set(_HEAD_KEYS)))}')
  cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
  if lora is not None:
    if name not in config_base.LORA_FAMILIES:
      raise ValueError(f'finetune.lora_rank: low-rank adapters sit on a transformer\'s attention, '
                       f'not on the {name} encoder')
    cfg['lora'] = lora
  return cls(vocab_size=vocab_size, **cfg)


def encoder_defaults(name) -> dict:
  """The default of every field of the named family's encoder ({} for an unknown name)."""
  cls = ENCODERS.get(name)
  if cls is None:
    return {}
  return {f.name: f.default for f in dataclasses.fields(cls)
          if f.name not in _NOT_CONFIG_FIELDS and f.default is not dataclasses.MISSING}


def build_classifier(model_config, vocab_size: int, num_classes: int, *,
                     pad_id: int, lora=None) -> Classifier:
  head = ClassificationHead(num_classes=num_classes,
                            hidden_dim=model_config.get('head_hidden_dim', 0),
                            dropout=model_config.get('head_dropout', 0.1))
  return Classifier(encoder=build_encoder(model_config, vocab_size, lora), head=head,
                    pad_id=pad_id)


def embedding_dim(model_config) -> int:
  """The width of the family's token embedding (what a tied MLM output projects from): embed_dim,
  or hidden_dim where the family has no embed_dim or it is 0 (a Transformer's own width)."""
  return model_config.get('embed_dim') or model_config.get('hidden_dim')


def build_masked_lm(model_config, vocab_size: int, *, pad_id: int) -> MaskedLM:
  return MaskedLM(encoder=build_encoder(model_config, vocab_size),
                  head=MLMHead(vocab_size=vocab_size, embed_dim=embedding_dim(model_config)),
                  tie_embeddings=model_config.get('tie_embeddings', True), pad_id=pad_id)


def generator_fields(model_config, size: float) -> tuple:
  """((field, value), ...): the encoder fields of an ELECTRA generator `size` times the
  discriminator's (config.model), each at least 1."""
  return tuple((k, max(1, int(round(model_config[k] * size))))
               for k in config_base.ENCODER_FAMILIES[model_config.name].generator_sizes)


def build_replaced_token_detector(model_config, vocab_size: int, generator_size: float, *,
                                  pad_id: int) -> ReplacedTokenDetector:
  return ReplacedTokenDetector(encoder=build_encoder(model_config, vocab_size),
                               generator_fields=generator_fields(model_config, generator_size),
                               embed_dim=embedding_dim(model_config), pad_id=pad_id)


def build_for_task(config, vocab_size: int, num_classes: int = 0, *, pad_id: int,
                   adapters: bool = True) -> tuple:
  """(model, init_inputs) for `config.task`, the one place that says what each task trains.

  vocab_size and pad_id are the tokenizer's (its vocabulary and its [PAD] id). A classifier's
  encoder carries config.finetune's low-rank adapters (lora_rank > 0), unless `adapters` is False:
  the network that lora.merge's parameters fill (predict, export).

  'classify': a Classifier with num_classes outputs; init_inputs (tokens int32 [1, data.max_len],).
  'mlm': a MaskedLM; init_inputs (tokens int32 [1, data.seq_len], positions int32 [1, K]), K the
  masked positions per sequence (masking.num_predictions).
  'rtd': a ReplacedTokenDetector (generator config.rtd.generator_size times the encoder); the
  same init_inputs as 'mlm'.
  """
  task = config.get('task', 'classify')
  if task in config_base.PRETRAINING_TASKS:
    seq_len = config.data.seq_len
    k = masking.num_predictions(seq_len, config.mlm.rate)
    model = (build_masked_lm(config.model, vocab_size, pad_id=pad_id) if task == 'mlm' else
             build_replaced_token_detector(config.model, vocab_size, config.rtd.generator_size,
                                           pad_id=pad_id))
    return model, (jnp.ones((1, seq_len), jnp.int32), jnp.zeros((1, k), jnp.int32))
  lora = lora_lib.from_config(config.get('finetune')) if adapters else None
  return (build_classifier(config.model, vocab_size, num_classes, pad_id=pad_id, lora=lora),
          (jnp.ones((1, config.data.max_len), jnp.int32),))
