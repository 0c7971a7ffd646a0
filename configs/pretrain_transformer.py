"""MLM pretraining of the transformer encoder of configs/sst2_transformer.py, with a LayerNorm on
its summed embeddings (model.embed_norm), on unlabeled English text: IMDB's 50k unlabeled reviews
and Gutenberg books, mixed half and half; held-out Gutenberg books for perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py \
      --workdir=runs/pretrain_transformer
then fine-tune with configs/sst2_transformer.py:pretrained, or configs/sentence_families.py's
transformer_*_pretrained rows.

Variants (--config=configs/pretrain_transformer.py:VARIANT
--workdir=runs/pretrain_transformer_VARIANT), each fine-tuned by configs/sentence_families.py's
transformer_*_VARIANT rows:
- rtd: the same encoder and data trained as ELECTRA's discriminator (replaced-token detection,
  config.task 'rtd'), with a generator of one block with a quarter of the MLP (256) sharing its
  token embedding; 2,500 steps, the MLM run's compute at this machine's cost of an RTD step; the
  generator samples at temperature 2 (rtd.temperature: at ELECTRA's 1 the discriminator never left
  the constant guess here). init_from transfers the discriminator's encoder.
- imdb: the same encoder and steps on IMDB's 50k unlabeled movie reviews alone
  (config_base.movie_review_corpus); perplexity on the text of IMDB's labelled training reviews.
- rtd_imdb: the `rtd` recipe on the reviews alone, as `imdb`.
- imdb_long, rtd_imdb_long: `imdb` and `rtd_imdb` at five times the compute (15,000 MLM steps,
  12,500 RTD steps), the budget issue 18 asks for. Each takes hours on 2 CPU cores and resumes
  exactly across sittings (re-run the command) where the workdir survives between them:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py:rtd_imdb_long \
      --workdir=runs/pretrain_transformer_rtd_imdb_long

Result: results/pretrain_transformer/<variant>.json (default.json for the MLM run), tabulated in
docs/results/runs.md.
"""

from textcls_jax import config_base


VARIANTS = ('', 'rtd', 'imdb', 'rtd_imdb', 'imdb_long', 'rtd_imdb_long')
LONG = 5  # The _long variants' compute, in units of the others' (docstring).


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  # The encoder of configs/sst2_transformer.py with a LayerNorm on its summed embeddings, the
  # encoder that configs/sst2_transformer.py:pretrained fine-tunes.
  model = config_base.transformer_model()
  model.embed_norm = True
  scale = LONG if variant.endswith('_long') else 1
  if variant.startswith('rtd'):  # MLM's compute: an RTD step costs 1.20x an MLM step (docstring).
    c = config_base.replaced_token_detection(
        config_base.pretraining_config(model, num_steps=2500 * scale), 0.25)
    # At temperature 1 the small generator's samples left the discriminator at the constant
    # guess for the whole budget; flatter samples are easier to tell apart early (docstring).
    c.rtd.temperature = 2.0
  else:
    c = config_base.pretraining_config(model, num_steps=3000 * scale)
  return config_base.movie_review_corpus(c) if 'imdb' in variant else c
