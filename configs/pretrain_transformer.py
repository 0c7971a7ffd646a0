"""MLM pretraining of the transformer encoder of configs/sst2_transformer.py, with a LayerNorm on
its summed embeddings (model.embed_norm), on unlabeled English text: IMDB's 50k unlabeled reviews
and Gutenberg books, mixed half and half; held-out Gutenberg books for perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py --workdir=runs/pretrain_transformer
then fine-tune with configs/sst2_transformer.py:pretrained (its docstring holds the SST-2
result).
Result (2026-11-29, seed 0, the model code of commit 214aae8):
held-out Gutenberg perplexity 72.7 after 3,000 steps (12.3 M tokens; 390 @1000, 85.6 @2000), 80.7
minutes on 2 CPU cores, partly shared with other jobs (0.78 steps/s alone). Without the embedding
LayerNorm the same pretraining reached perplexity 93.6 (docs/pretraining.md).
"""

from textcls_jax import config_base


def get_config():
  # The encoder of configs/sst2_transformer.py with a LayerNorm on its summed embeddings, the
  # encoder that configs/sst2_transformer.py:pretrained fine-tunes.
  model = config_base.transformer_model()
  model.embed_norm = True
  return config_base.pretraining_config(model, num_steps=3000)
