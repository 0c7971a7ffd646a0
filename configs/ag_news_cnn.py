"""AG News topic classification (World, Sports, Business, Sci/Tech), CNN encoder, from the CSV
files of its usual distribution (Zhang et al. 2015: `ag_news_csv/` with train.csv, test.csv and
classes.txt). The CSVs have no header row: class index (1 to 4), title, description; the title
and the description are joined into one text, and the class names come from classes.txt.

Command (with ag_news_csv/ unpacked under data/):
  python -m textcls_jax.main --config=configs/ag_news_cnn.py --workdir=runs/ag_news_cnn
The dev split (5% of train) makes every decision; test.csv is for the final number only:
  python -m textcls_jax.predict --workdir=runs/ag_news_cnn --input=... (or add it as data.cv_folds
  / test_fraction rows with python -m textcls_jax.reproduce).
Result: none here: the dataset is not on these machines (tests/test_splits.py trains this config
from its command on a small file of the same layout).
"""

from textcls_jax import config_base

DATA = 'data/ag_news_csv'


def get_config():
  c = config_base.base_config()
  c.model = config_base.cnn_model()
  c.data.source = f'csv:{DATA}/{{split}}.csv'
  c.data.header = False
  c.data.text_field = '1+2'  # title + description
  c.data.text_join = '. '
  c.data.label_field = '0'
  c.data.label_names_file = f'{DATA}/classes.txt'
  c.data.label_index_base = 1
  c.data.eval_split = ''  # Dev carved from train.csv; test.csv stays unseen.
  c.data.dev_fraction = 0.05
  c.data.max_len = 96
  c.train.batch_size = 64
  c.train.num_steps = 6000
  c.train.eval_every_steps = 1000
  c.checkpoint.every_steps = 1000
  return c
