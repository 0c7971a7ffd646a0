"""IMDB sentiment (25k labelled reviews; dev carved from train: 10%, split seed 0), cnn encoder:
from scratch, or (variant `pretrained`) initialized from MLM pretraining on IMDB's unlabeled
reviews (configs/pretrain_imdb_cnn.py) with the same model, data split and fine-tuning budget. The
data lives elsewhere: --config.data.source=jsonl:DIR/imdb/train.jsonl.gz.

Command:
  python -m textcls_jax.main --config=configs/imdb_cnn.py --workdir=runs/imdb_cnn
Variant `pretrained`:
  python -m textcls_jax.main --config=configs/pretrain_imdb_cnn.py --workdir=runs/pretrain_imdb_cnn
  python -m textcls_jax.main --config=configs/imdb_cnn.py:pretrained \
      --workdir=runs/imdb_cnn_pretrained

Result: results/imdb_cnn/default.json and pretrained.json (IMDB dev accuracy at the final step),
tabulated in docs/results/runs.md.
"""

from textcls_jax import config_base

VARIANTS = ('', 'pretrained')


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  c = config_base.base_config()
  c.model = config_base.cnn_model()
  c.data.source = 'jsonl:../shared/data/imdb/train.jsonl.gz'
  c.data.train_split = 'train'
  c.data.eval_split = ''  # Carve dev from train (data.dev_fraction, data.split_seed).
  c.data.text_field = 'text'
  c.data.label_field = 'label'
  c.data.max_len = 256  # Tokens; the median review is about 230 words.
  c.train.batch_size = 32
  c.train.num_steps = 2000  # About 2.8 epochs of the 22.5k training reviews.
  c.eval.batch_size = 128
  c.optim.learning_rate = 1e-3
  if variant == 'pretrained':
    c.init_from = 'runs/pretrain_imdb_cnn'  # Brings the encoder and its tokenizer.
  return c
