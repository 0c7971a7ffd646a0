"""MLM pretraining of the cnn encoder of configs/sst2_cnn.py on unlabeled English text:
IMDB's 50k unlabeled reviews and Gutenberg books, mixed half and half; held-out Gutenberg books for
perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_cnn.py --workdir=runs/pretrain_cnn
then fine-tune with configs/sst2_cnn_pretrained.py.
Result: RESULT_PENDING
"""

from textcls_jax import config_base

DATA = '../shared/data'


def get_config():
  c = config_base.base_config()
  c.task = 'mlm'
  c.model = config_base.cnn_model()  # The same encoder as the fine-tuning config.
  c.data.corpus_sources = (f'jsonl:{DATA}/imdb/unsup.jsonl.gz',
                           f'text:{DATA}/gutenberg_en/train.txt.gz')
  c.data.corpus_weights = (0.5, 0.5)
  c.data.corpus_eval = f'text:{DATA}/gutenberg_en/valid.txt.gz'
  c.data.text_field = 'text'
  c.data.seq_len = 64  # SST-2 sentences are short; 64 tokens hold several of them.
  c.tokenizer.vocab_size = 8000
  c.tokenizer.max_chars = 20_000_000
  c.tokenizer.normalization = 'nmt_nfkc_cf'  # Case-folded: SST-2 text is lowercased.
  c.train.batch_size = 64
  c.train.num_steps = 6000
  c.train.log_every_steps = 100
  c.train.eval_every_steps = 1000
  c.eval.batch_size = 64
  c.eval.max_batches = 20
  c.checkpoint.every_steps = 500
  c.checkpoint.best_metric = 'loss'
  c.checkpoint.best_mode = 'min'
  c.optim.learning_rate = 1e-3
  c.optim.warmup_steps = 600
  return c
