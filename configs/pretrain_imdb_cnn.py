"""MLM pretraining of the cnn encoder of configs/imdb_cnn.py on IMDB's 50k unlabeled reviews (the
`unsupervised` split, disjoint from the labelled ones); perplexity on the held-out last 10% of
them.

Command:
  python -m textcls_jax.main --config=configs/pretrain_imdb_cnn.py --workdir=runs/pretrain_imdb_cnn
then fine-tune with configs/imdb_cnn.py:pretrained.

Result: results/pretrain_imdb_cnn/default.json, tabulated in docs/results/runs.md.
"""

from textcls_jax import config_base


def get_config(data_dir: str = '../shared/data'):
  c = config_base.pretraining_config(config_base.cnn_model(), num_steps=3000, data_dir=data_dir)
  c.data.corpus_sources = (f'jsonl:{data_dir}/imdb/unsup.jsonl.gz',)
  c.data.corpus_weights = ()
  c.data.corpus_eval = ''  # The tail (data.dev_fraction) of the unlabeled reviews.
  c.data.seq_len = 128
  c.train.batch_size = 32  # 32 x 128 tokens a step.
  c.tokenizer.normalization = 'nmt_nfkc'  # IMDB keeps its case, so the tokenizer does too.
  return c
