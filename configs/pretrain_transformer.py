"""MLM pretraining of the transformer encoder of configs/sst2_transformer.py, with a LayerNorm on
its summed embeddings (model.embed_norm), on unlabeled English text: IMDB's 50k unlabeled reviews
and Gutenberg books, mixed half and half; held-out Gutenberg books for perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py --workdir=runs/pretrain_transformer
then fine-tune with configs/sst2_transformer.py:pretrained (its docstring holds the SST-2
result).
Result (2026-11-29, seed 0, the model code of commit 214aae8):
held-out Gutenberg perplexity 72.7 after 3,000 steps (12.3 M tokens; 390 @1000, 85.6 @2000), 80.7
minutes on 2 CPU cores, partly shared with other jobs (0.78 steps/s alone). Without the embedding
LayerNorm the same pretraining reached perplexity 93.6 (docs/pretraining.md).
Re-run (2026-12-02, commit 26086e0 to 61479ef: the same model code; 2 AMD EPYC cores with
AVX-512): perplexity 72.4 at step 3,000 (86.4 @2000), 62 minutes of wall time shared with test runs
and benchmark pauses (1.64 steps/s, about 30 minutes' worth, alone at the end).

Variant `rtd` (--config=configs/pretrain_transformer.py:rtd): the same encoder and data trained
as ELECTRA's discriminator (replaced-token detection, config.task 'rtd'), with a generator of one
block with a quarter of the MLP (256) sharing its token embedding; init_from transfers the
discriminator's encoder. At the MLM run's compute: a step costs 1.20x an MLM step here (683 vs
569 ms, same process, alternating, 2 AMD EPYC cores, 2026-12-02), so 2,500 steps (10.2 M tokens).
The generator's samples are drawn at temperature 2 (rtd.temperature; ELECTRA's 1 failed here):
Result (2026-12-02, commit 855770f, 2 AMD EPYC cores with AVX-512; run as
--config.rtd.temperature=2.0, which is now the variant's own): after 2,500 steps, held-out
Gutenberg: generator perplexity 79.0 (248 @1000, 83.8 @2000); the discriminator's loss 0.311
against 0.397 for the best constant guess (13.6% of tokens replaced; precision 0.59, recall 0.17).
44 minutes of wall time, shared with benchmark and test runs (about 31 minutes' worth alone).
At temperature 1 (commit a1a08f8, the same steps) the generator reached perplexity 123.1 and the
discriminator never called a token replaced: its loss 0.361 against 0.365 for the constant guess
(11.9% replaced); a 400-step probe at temperature 2 left the constant guess by step 100.
Fine-tuned on SST-2 sentences: configs/sentence_families.py:transformer_sst2_rtd.
Variant `imdb` (--config=configs/pretrain_transformer.py:imdb
--workdir=runs/pretrain_transformer_imdb): the same encoder and steps on IMDB's 50k unlabeled
movie reviews alone (config_base.movie_review_corpus).
Result (2026-12-02, seed 0, commit 9564b96's code, 2 AMD EPYC cores with AVX-512, alone):
perplexity 84.6 on the text of IMDB's labelled training reviews after 3,000 steps (12.3 M tokens;
222 @1000, 97.4 @2000), 28.5 minutes (1.88 steps/s).
Fine-tuned: configs/sentence_families.py's transformer_*_imdb rows.
Variant `rtd_imdb` (--config=configs/pretrain_transformer.py:rtd_imdb
--workdir=runs/pretrain_transformer_rtd_imdb): the `rtd` recipe (2,500 steps, 10.2 M tokens, the
MLM run's compute) on the reviews alone, as `imdb`.
Result (2026-12-03, seed 0, commit d7b9465, 2 AMD EPYC cores with AVX-512, alone): on the text of
IMDB's labelled training reviews after 2,500 steps: generator perplexity 128.1 (267 @1000, 139
@2000); the discriminator's loss 0.293 against 0.410 for the best constant guess (14.3% of tokens
replaced; precision 0.69, recall 0.31). 26 minutes (1.63 steps/s).
Fine-tuned: configs/sentence_families.py:transformer_sst2_rtd_imdb (below MLM on the same text).
The discriminator's loss stood near 0.34 for the first 1,200 steps and fell only as the cosine
schedule brought the rate below about 5e-4, so the same run at ELECTRA-Small's rate
(--config.optim.learning_rate=5e-4 --workdir=runs/pretrain_transformer_rtd_imdb_lr5e-4;
2026-12-03, commit 821d04d, alone, 34 minutes at 1.2 steps/s on a slower day of this machine):
it stood at 0.34 as long (0.344 at step 1,000) and ended higher, 0.323 against 0.419 for the best
constant guess (14.8% replaced; precision 0.64, recall 0.21; generator perplexity 172.7). Fine-tuned
on SST-2 sentences it scores as the 1e-3 run (configs/sentence_families.py's docstring): the
variant keeps 1e-3.

Variants `imdb_long` and `rtd_imdb_long`: `imdb` and `rtd_imdb` at five times the compute (15,000
MLM steps, 61 M tokens, about 3.7 passes over the reviews; 12,500 RTD steps), the budget issue 18
asks for: the discriminator's loss left the constant guess only after some 1,200 steps, which a
2,500-step run can barely repay, and ELECTRA's lead over MLM was measured at far larger compute.
About two hours each alone here (three for rtd_imdb_long at 1.1-1.2 steps/s on a slower machine
of the same kind, 2026-12-03); each resumes exactly across sittings (re-run the command) where the
workdir survives between them.
  python -m textcls_jax.main --config=configs/pretrain_transformer.py:rtd_imdb_long \
      --workdir=runs/pretrain_transformer_rtd_imdb_long
Result of rtd_imdb_long (2026-12-03, seed 0, commit 69d6b94's training code, 2 AMD EPYC cores with
AVX-512, in two sittings: steps 1-5,000 beside probes and a benchmark window, 13:50-15:36 UTC;
5,000-12,500 alone, 15:56-17:38, 1.05-1.4 steps/s; about 2.9 hours' worth alone): 51.2 M tokens
(3.1 passes over the reviews). On the text of IMDB's labelled training reviews, step: the
discriminator's loss, generator perplexity, replaced precision / recall: 1,000: 0.350, 320,
0.68 / 0.02; 3,000: 0.279, 63.9, 0.75 / 0.26; 5,000: 0.262, 49.5, 0.72 / 0.36; 10,000: 0.244, 38.7,
0.72 / 0.42; 12,500: 0.244, 38.1, 0.73 / 0.41 (12.6% of tokens replaced; the best constant guess
0.379). The resumed sitting repeated the first's losses to the printed digit (step 5,200: 17.2129).
  python -m textcls_jax.main --config=configs/pretrain_transformer.py:imdb_long \
      --workdir=runs/pretrain_transformer_imdb_long
Result of imdb_long (2026-12-03, seed 0, the same training code, 2 AMD EPYC cores with AVX-512, in
two sittings: steps 1-3,500 17:49-18:41 UTC with a 14-minute pause for a test-suite run,
3,500-15,000 alone 18:54-20:50, 1.4-1.8 steps/s; about 2.6 hours' worth alone): 61.4 M tokens (3.7
passes over the reviews). Perplexity on the text of IMDB's labelled training reviews: 348 @1000,
112 @2000, 78.5 @3000, 55.7 @5000, 38.6 @9000, 34.9 @11000, 32.4 @15000 (against `imdb`'s, above).
Fine-tuned: configs/sentence_families.py's transformer_*_imdb_long and _rtd_imdb_long rows.
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
