"""IMDB sentiment (25k labelled reviews; dev carved from train: 10%, split seed 0), cnn encoder from
scratch.

Command:
  python -m textcls_jax.main --config=configs/imdb_cnn.py --workdir=runs/imdb_cnn
Result (2026-11-29, seed 0, commit 72a56be):
IMDB dev accuracy 0.858 (macro-F1 0.858) at the final step 2,000, in 25.0 minutes on 2 CPU cores
shared with other jobs. Dev on the way: 0.792 @500, 0.851 @1000, 0.857 @1500. Initialized from
configs/pretrain_imdb_cnn.py instead (configs/imdb_cnn_pretrained.py): 0.861.
"""

from textcls_jax import config_base


def get_config(data_dir: str = '../shared/data'):
  c = config_base.base_config()
  c.model = config_base.cnn_model()
  c.data.source = f'jsonl:{data_dir}/imdb/train.jsonl.gz'
  c.data.train_split = 'train'
  c.data.eval_split = ''  # Carve dev from train (data.dev_fraction, data.split_seed).
  c.data.text_field = 'text'
  c.data.label_field = 'label'
  c.data.max_len = 256  # Tokens; the median review is about 230 words.
  c.train.batch_size = 32
  c.train.num_steps = 2000  # About 2.8 epochs of the 22.5k training reviews.
  c.eval.batch_size = 128
  c.optim.learning_rate = 1e-3
  return c
