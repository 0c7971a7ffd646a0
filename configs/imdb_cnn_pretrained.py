"""IMDB sentiment, cnn encoder initialized from MLM pretraining on IMDB's unlabeled reviews
(configs/pretrain_imdb_cnn.py); the same model, data split and fine-tuning budget as
configs/imdb_cnn.py, which trains it from scratch.

Commands:
  python -m textcls_jax.main --config=configs/pretrain_imdb_cnn.py --workdir=runs/pretrain_imdb_cnn
  python -m textcls_jax.main --config=configs/imdb_cnn_pretrained.py \
      --workdir=runs/imdb_cnn_pretrained
Result: see README.md ("Pretraining").
"""

import importlib.util
import os


def get_config():
  here = os.path.dirname(os.path.abspath(__file__))
  spec = importlib.util.spec_from_file_location('scratch', os.path.join(here, 'imdb_cnn.py'))
  scratch = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(scratch)
  c = scratch.get_config()
  c.init_from = 'runs/pretrain_imdb_cnn'  # Brings the encoder and its tokenizer.
  return c
