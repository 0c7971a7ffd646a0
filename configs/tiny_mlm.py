"""A tiny, fast MLM pretraining smoke run: a small Transformer for 100 steps on part of IMDB's
unlabeled reviews.

  python -m textcls_jax.main --config=configs/tiny_mlm.py --workdir=/tmp/tiny_mlm
It checks that pretraining runs; its perplexity means little.
Result: results/tiny_mlm/default.json.
"""

from textcls_jax import config_base


def get_config():
  c = config_base.base_config()
  c.task = 'mlm'
  c.model = config_base.transformer_model()
  c.model.update(hidden_dim=32, num_layers=1, num_heads=2, mlp_dim=64, max_len=64)
  c.data.corpus_sources = ('jsonl:../shared/data/imdb/unsup.jsonl.gz',)
  c.data.text_field = 'text'
  c.data.corpus_max_chars = 500_000
  c.data.seq_len = 64
  c.tokenizer.vocab_size = 1000
  c.tokenizer.max_chars = 500_000
  c.train.batch_size = 16
  c.train.num_steps = 100
  c.train.log_every_steps = 25
  c.train.eval_every_steps = 50
  c.eval.batch_size = 32
  c.eval.max_batches = 4
  c.checkpoint.every_steps = 50
  c.checkpoint.best_metric = 'loss'
  c.checkpoint.best_mode = 'min'
  c.optim.learning_rate = 3e-3
  c.optim.warmup_steps = 10
  return c
