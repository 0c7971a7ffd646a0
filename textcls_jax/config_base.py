"""The keys every experiment config has, with their defaults. `configs/*.py` start from here."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import traceback

import ml_collections

from textcls_jax import failures


def config_file(spec: str) -> ml_collections.ConfigDict:
  """get_config() of a config file, `PATH` or `PATH:ARG` (then get_config(ARG)), as --config reads
  it: the one loader, also used by a config that starts from another (e.g. a fine-tuning run from
  the from-scratch config of the same model). A file that is missing, does not parse, has no
  get_config, or fails in it is ConfigFileError: one line naming the file and line."""
  path, _, arg = spec.partition(':')
  if not os.path.isfile(path):
    raise ConfigFileError(f'config file {path} not found (--config=PATH[:VARIANT], e.g. '
                          'configs/tiny.py)')
  try:
    loader = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    if not callable(getattr(module, 'get_config', None)):
      raise ConfigFileError(f'{path} defines no get_config(): a config file returns its '
                            'ml_collections.ConfigDict from get_config() (see configs/tiny.py)')
    config = module.get_config(arg) if arg else module.get_config()
  except ConfigFileError:
    raise  # A config this one starts from, already named.
  except SyntaxError as e:
    raise ConfigFileError(f'{e.filename}, line {e.lineno}: {e.msg}') from e
  except Exception as e:  # noqa: BLE001 (whatever the file's own code raised, named where)
    raise ConfigFileError(f'{_where(e, path)}: {type(e).__name__}: {e}') from e
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigFileError(f'{path}: get_config() returned {type(config).__name__}, not an '
                          'ml_collections.ConfigDict')
  return config


class ConfigFileError(failures.UserError, ValueError):
  """A config file that is missing, does not parse, has no get_config, or fails in it."""


def _where(error: Exception, path: str) -> str:
  """'PATH, line N' of the innermost frame of `error` in the config file `path`, else `path`."""
  frames = traceback.extract_tb(error.__traceback__)
  mine = [f for f in frames if os.path.abspath(f.filename) == os.path.abspath(path)]
  frame = (mine or [None])[-1]
  return f'{path}, line {frame.lineno}' if frame else path


class VariantError(ConfigFileError):
  """--config=PATH:VARIANT names a variant that the config does not define."""


def check_variant(config_path: str, variant: str, variants: tuple[str, ...]) -> None:
  """Refuses a `--config=PATH:VARIANT` that the config does not define, naming the ones it does.

  A config derives a variant of itself big_vision-style, in its own get_config(variant): the
  derived run stays beside the run it derives from, and nothing is loaded by file path.
  """
  if variant not in variants:
    known = ', '.join(repr(v) for v in variants)
    name = os.path.join(os.path.basename(os.path.dirname(config_path)), os.path.basename(config_path))
    raise VariantError(f'{name}: no variant {variant!r}; it has {known} (PATH:VARIANT)')


# The pretraining objectives: a masked language model, and ELECTRA's replaced-token detection.
PRETRAINING_TASKS = ('mlm', 'rtd')
# Word vectors for the encoder's token embedding (textcls_jax/word2vec.py, gensim's word2vec).
WORD_VECTORS_TASK = 'word2vec'
# The tasks that read an unlabeled corpus (data.corpus_sources).
CORPUS_TASKS = PRETRAINING_TASKS + (WORD_VECTORS_TASK,)
# In init_from: the fold of the run, filled in by textcls_jax.reproduce (a workdir per fold, for a
# pretraining that read only that fold's training text).
FOLD_FIELD = '{fold}'
# Low-rank adapters (finetune.lora_rank; models/lora.py): the encoder families that take them, and
# the attention projections they may sit on (transformer.SelfAttention's parameter names).
LORA_FAMILIES = ('transformer',)
LORA_PROJECTIONS = ('query', 'key', 'value', 'out')
# model.attention_impl of the Transformer: how attention is computed (models/attention.py).
ATTENTION_IMPLEMENTATIONS = ('auto', 'einsum', 'xla', 'cudnn')


def base_config() -> ml_collections.ConfigDict:
  """Every key a config has, at its default: the top-level keys here, a function per section."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  # 'classify', or a pretraining objective: 'mlm' (masked language model) or 'rtd' (ELECTRA's
  # replaced-token detection: a small MLM generator proposes tokens, the encoder spots them), or
  # 'word2vec' (skip-gram word vectors for the token embedding alone).
  c.task = 'classify'
  # A pretraining workdir, or a published HuggingFace checkpoint (a folder, an installed package
  # that ships one, a hub name; textcls_jax/transfer.py): its encoder and tokenizer start this run.
  c.init_from = ''
  # JAX's persistent compilation cache: a folder, 'off', or '' for $TEXTCLS_JAX_COMPILATION_CACHE,
  # else ~/.cache/textcls-jax/jax (textcls_jax/compile_cache.py).
  c.compilation_cache = ''
  c.data = _data_section()
  c.mlm = _mlm_section()
  c.rtd = _rtd_section()
  c.word2vec = _word2vec_section()
  c.finetune = _finetune_section()
  c.tokenizer = _tokenizer_section()
  c.optim = _optim_section()
  c.parallel = _parallel_section()
  c.train = _train_section()
  c.eval = _eval_section()
  c.reproduce = _reproduce_section()
  c.checkpoint = _checkpoint_section()
  return c


def _data_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.source = 'tfds:glue/sst2'  # KIND:LOCATION, see textcls_jax/data/sources.py.
  s.train_split = 'train'
  s.eval_split = 'validation'  # '' carves a dev split from train (dev_fraction, split_seed).
  s.text_field = 'sentence'  # 'title+description' joins columns (or JSON fields) ...
  s.text_join = ' '  # ... with this between them.
  # Sentence pairs: the second text's column (field, feature; joined as text_field is), encoded as
  # BERT does, `[CLS] text [SEP] pair [SEP]` with token types 0 and 1 (the longer side truncated
  # first). '' for single texts.
  s.pair_field = ''
  s.label_field = 'label'
  # CSV/TSV: the first row names the columns; False: no header row, columns named by position
  # from 0 (text_field='1+2', label_field='0').
  s.header = True
  # Integer labels' class names, in index order, given here or in a file of one name a line (AG
  # News' classes.txt); label_index_base is the label of the first name (AG News: 1).
  s.label_names = ()
  s.label_names_file = ''
  s.label_index_base = 0
  s.tfds_data_dir = ''  # '' uses TFDS_DATA_DIR or TFDS's default.
  s.encoding = 'utf-8'
  s.dev_fraction = 0.1
  s.split_seed = 0  # Seeds every split carved here: dev, test and cross-validation folds.
  # A test split no decision looks at, evaluated once, at the end, on the checkpoint dev chose:
  # cv_folds=k >= 2 deals train_split into k folds (stratified by label) and holds out fold
  # cv_fold; or test_fraction > 0 holds out that share of train_split (stratified). The dev split
  # (eval_split, or carved from what is left) still makes every decision.
  s.cv_folds = 0
  s.cv_fold = 0
  s.test_fraction = 0.0
  s.max_len = 64  # Tokens, [CLS] included; longer texts are truncated.
  s.length_buckets = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
  s.sort_window_batches = 16  # Batch texts of like length together (1: plain shuffle).

  # Pretraining (task 'mlm' or 'rtd'): unlabeled sources 'KIND:LOCATION[@split]', mixed by weight;
  # 'task:train' / 'task:dev' read the texts of data.source's own splits (its test split never).
  s.corpus_sources = ()
  s.corpus_weights = ()  # () weighs the sources equally.
  s.corpus_eval = ''  # Held-out text ('task:dev' too); '' holds out dev_fraction of the
  # first source's tail.
  s.corpus_max_chars = 0  # Per source; 0 reads all of it.
  s.seq_len = 128
  return s


def _mlm_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.rate = 0.15
  s.mask_fraction = 0.8  # Of the picked tokens: replaced by [MASK] ...
  s.random_fraction = 0.1  # ... by a random token; the rest stay as they are.
  return s


def _rtd_section() -> ml_collections.ConfigDict:
  # Task 'rtd' masks with the mlm section's keys (ELECTRA: rate 0.15, mask_fraction 0.85, random 0).
  s = ml_collections.ConfigDict()
  s.generator_size = 0.25  # The generator's width (Transformer: depth, MLP) x this.
  # ELECTRA's lambda: loss = generator CE (mean over masked positions) + this x discriminator
  # BCE (mean over tokens). Computed over the batch's masked positions as its one count, the
  # token term weighing rate x this, which is exact when the batch masks `rate` of its tokens.
  s.discriminator_weight = 50.0
  s.temperature = 1.0  # Of the generator's samples.
  return s


def _word2vec_section() -> ml_collections.ConfigDict:
  # Task 'word2vec' (textcls_jax/word2vec.py): skip-gram with negative sampling over the corpus's
  # pieces, as wide as the model's token embedding; each source read once an epoch.
  s = ml_collections.ConfigDict()
  s.window = 5  # Context pieces each side (word2vec samples a window up to this).
  s.negatives = 5  # Noise pieces per pair, drawn from the unigram counts ^ 0.75.
  s.sample = 1e-4  # Frequent pieces are skipped, as word2vec's `sample` says.
  s.epochs = 5
  s.learning_rate = 0.025  # SGD's, decayed linearly to 1e-4 of it.
  s.threads = 1  # 1 makes the vectors reproducible; more are faster and are not.
  return s


def _finetune_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.freeze_encoder_steps = 0  # Train only the new head for this many steps.
  # Learning rate x layer_decay^(depth from the top), by ENCODER_FAMILIES' layer paths (a
  # Transformer's blocks and embeddings; a CNN's or an RNN's embedding alone).
  s.layer_decay = 1.0
  # > 0: low-rank adapters of this rank (LoRA; models/lora.py) on lora_targets of every attention
  # block, the update scaled by lora_alpha / lora_rank; the encoder is frozen but for them (and
  # its pooler), the head trains. predict and export merge them into the kernels.
  s.lora_rank = 0
  s.lora_alpha = 16.0
  s.lora_targets = ('query', 'value')
  return s


def _tokenizer_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  # 'sentencepiece' (ours, ids 0-3, trained or model_path) or 'wordpiece' (a published BERT
  # checkpoint's vocab.txt, HF BertTokenizer's ids: vocab_file).
  s.kind = 'sentencepiece'
  s.vocab_file = ''  # wordpiece: a HF checkpoint folder holding vocab.txt, or a vocab.txt.
  s.model_path = ''  # '' trains one on the training texts and saves it in the workdir.
  s.vocab_size = 8000
  s.max_chars = 20_000_000
  s.model_type = 'unigram'  # SentencePiece's: 'unigram', 'bpe', 'word' or 'char'.
  s.seed = 0
  s.normalization = 'nmt_nfkc'  # 'nmt_nfkc_cf' also folds case.
  return s


def _optim_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.learning_rate = 1e-3
  s.schedule = 'cosine'
  s.warmup_steps = 200
  s.weight_decay = 0.01
  s.b1 = 0.9
  s.b2 = 0.999
  s.eps = 1e-8
  s.grad_clip_norm = 1.0
  s.no_decay_regex = r'(bias|scale|pos_embed)$'  # Paths 'encoder/block_0/ln_attn/scale'.
  # > 0: after each update, the columns of the kernels matching max_norm_regex are rescaled to an
  # L2 norm of at most this (Kim 2014 constrains the output layer's weight vectors to 3).
  s.max_norm = 0.0
  s.max_norm_regex = r'^head/out/kernel$'
  return s


def _parallel_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.mode = 'jit'  # 'jit' over a device mesh, or 'pmap'; both data-parallel.
  return s


def _train_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.batch_size = 64  # Global: split over all devices of all hosts.
  s.num_steps = 2000
  s.log_every_steps = 100
  s.eval_every_steps = 500
  # A NaN/Inf loss or gradient is never applied; then 'stop' (an error naming the step) or 'skip'
  # (go on, counting skipped steps in the log and metrics).
  s.on_nonfinite = 'stop'
  # Micro-batches per update: each device's rows are split into this many, run one after another
  # and their gradients summed (a large batch on a small device).
  s.grad_accum_steps = 1
  s.plots = True  # At the end: WORKDIR/plots/curves.png and confusion.png (textcls_jax/plot.py).
  return s


def _eval_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.batch_size = 256  # Global, like train.batch_size.
  s.max_batches = 50  # MLM: held-out windows evaluated (batches of eval.batch_size).
  return s


def _reproduce_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.seeds = (0,)  # python -m textcls_jax.reproduce: a run per seed (and per CV fold).
  # Published or baseline figures the row is read against, shown beside it in the runner's tables
  # (e.g. 'Kim CNN-rand 76.1; TF-IDF + LR 78.0'); text only, nothing checks a run against it.
  s.reference = ''
  # With data.cv_folds: the folds the runner runs (() = all). A row that cannot afford all of them
  # runs some, and its table says how many.
  s.folds = ()
  return s


def _checkpoint_section() -> ml_collections.ConfigDict:
  s = ml_collections.ConfigDict()
  s.every_steps = 500
  s.max_to_keep = 2
  s.best_metric = 'accuracy'  # A dev figure; '' keeps only the latest.
  s.best_mode = 'max'
  # A latest checkpoint that fails its checksum or cannot be read: 'fallback' to the newest good one
  # (with a warning; the bad one is moved aside), or 'error'.
  s.on_corrupt = 'fallback'
  return s


@dataclasses.dataclass(frozen=True)
class EncoderFamily:
  """What the code outside models/ knows of an encoder family (models/ maps its name to the Flax
  module, whose fields are the keys of `defaults`)."""
  defaults: dict  # config.model's keys besides `name`, at the values a config starts from.
  # The encoder fields an ELECTRA generator (task 'rtd') shrinks by rtd.generator_size.
  generator_sizes: tuple
  # finetune.layer_decay (optim.layerwise_scales): the parameter paths of the family's stack of
  # layers, the layer's index (0 at the bottom) as group 1 ('' for none), and of the embeddings
  # below them.
  layer_regex: str
  embedding_regex: str
  # Its forward-only steps compile without YNNPACK on the CPU kinds where that was measured to
  # help (xla_options.py).
  forward_without_ynnpack: bool = False


# The encoder families, by config.model.name: the one list of them. A family with a `max_len` key
# learns its positions up to it, one with `num_heads` splits hidden_dim into heads (config_checks).
ENCODER_FAMILIES = {
    'rnn': EncoderFamily(
        defaults=dict(embed_dim=256, hidden_dim=256, num_layers=1, cell='lstm',
                      bidirectional=True, dropout=0.3, pooling='max', dtype='float32',
                      head_hidden_dim=0, head_dropout=0.3),
        generator_sizes=('hidden_dim',),  # Its width.
        layer_regex='', embedding_regex=r'encoder/embed/'),
    'cnn': EncoderFamily(
        defaults=dict(embed_dim=256, filter_widths=(3, 4, 5), num_filters=100, num_layers=1,
                      dropout=0.5, pooling='max', dtype='float32', head_hidden_dim=0,
                      head_dropout=0.5),
        generator_sizes=('num_filters',),  # Its width.
        layer_regex='', embedding_regex=r'encoder/embed/'),
    'transformer': EncoderFamily(
        # block_norm ... embed_dim: what a published BERT-family checkpoint needs ('post', 'gelu',
        # 2, 1e-12, True; ELECTRA's embed_dim), models/transformer.py says each; these defaults
        # are this project's pre-LN encoder.
        defaults=dict(hidden_dim=256, num_layers=4, num_heads=4, mlp_dim=1024, max_len=128,
                      dropout=0.1, attention_dropout=0.1, pooling='cls', embed_norm=False,
                      block_norm='pre', activation='gelu_tanh', type_vocab_size=0,
                      layer_norm_eps=1e-6, pooler=False, embed_dim=0,
                      dtype='float32', attention_impl='auto', head_hidden_dim=0,
                      head_dropout=0.1),
        # Its width is its embedding's, shared with the discriminator: its depth and MLP instead.
        generator_sizes=('num_layers', 'mlp_dim'),
        layer_regex=r'encoder/block_(\d+)/',
        embedding_regex=r'encoder/(embed|pos_embed|type_embed|embed_proj)',
        forward_without_ynnpack=True),
}


def model_config(name: str) -> ml_collections.ConfigDict:
  """config.model for the named encoder family, at its defaults."""
  return ml_collections.ConfigDict(dict(name=name, **ENCODER_FAMILIES[name].defaults))


def rnn_model() -> ml_collections.ConfigDict:
  return model_config('rnn')


def cnn_model() -> ml_collections.ConfigDict:
  return model_config('cnn')


def transformer_model() -> ml_collections.ConfigDict:
  return model_config('transformer')


def bert_model(hidden_dim: int, num_layers: int, num_heads: int, mlp_dim: int,
               **keys) -> ml_collections.ConfigDict:
  """config.model for a published BERT-architecture checkpoint (init_from one): the Transformer
  family with BERT's keys (post-LN blocks, exact GELU, token types, LayerNorm epsilon 1e-12, the
  pooler, 512 positions) and the given sizes; `keys` overrides any (ELECTRA: pooler=False,
  embed_dim). textcls_jax/transfer.py refuses a config that differs from the checkpoint."""
  model = transformer_model()
  model.update(dict(hidden_dim=hidden_dim, num_layers=num_layers, num_heads=num_heads,
                    mlp_dim=mlp_dim, max_len=512, pooling='cls', embed_norm=True,
                    block_norm='post', activation='gelu', type_vocab_size=2,
                    layer_norm_eps=1e-12, pooler=True, embed_dim=0, head_hidden_dim=0))
  model.update(keys)
  return model


def pretraining_config(model: ml_collections.ConfigDict, num_steps: int,
                       data_dir: str = '../shared/data') -> ml_collections.ConfigDict:
  """MLM pretraining on IMDB's unlabeled reviews and Gutenberg books, half and half, with held-out
  Gutenberg books for perplexity; case-folded SentencePiece (SST-2 text is lowercased)."""
  c = base_config()
  c.task = 'mlm'
  c.model = model
  c.data.corpus_sources = (f'jsonl:{data_dir}/imdb/unsup.jsonl.gz',
                           f'text:{data_dir}/gutenberg_en/train.txt.gz')
  c.data.corpus_weights = (0.5, 0.5)
  c.data.corpus_eval = f'text:{data_dir}/gutenberg_en/valid.txt.gz'
  c.data.text_field = 'text'
  c.data.seq_len = 64  # SST-2 sentences are short; 64 tokens hold several of them.
  c.tokenizer.normalization = 'nmt_nfkc_cf'
  c.train.batch_size = 64
  c.train.num_steps = num_steps
  c.train.log_every_steps = 100
  c.train.eval_every_steps = 1000
  c.eval.batch_size = 64
  c.eval.max_batches = 20
  c.checkpoint.every_steps = 500
  c.checkpoint.best_metric = 'loss'
  c.checkpoint.best_mode = 'min'
  c.optim.learning_rate = 1e-3
  c.optim.warmup_steps = num_steps // 10
  return c


def movie_review_corpus(c: ml_collections.ConfigDict,
                        data_dir: str = '../shared/data') -> ml_collections.ConfigDict:
  """Points a pretraining config at in-domain text for SST, MR and the other review datasets:
  IMDB's 50k unlabeled movie reviews alone, with held-out perplexity on the text of IMDB's 25k
  labelled training reviews (their labels unread; the two sets are disjoint)."""
  c.data.corpus_sources = (f'jsonl:{data_dir}/imdb/unsup.jsonl.gz',)
  c.data.corpus_weights = (1.0,)
  c.data.corpus_eval = f'jsonl:{data_dir}/imdb/train.jsonl.gz'
  return c


def word_vectors(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Turns a pretraining config into word2vec (task 'word2vec') on the same corpus and tokenizer:
  skip-gram vectors for its encoder's token embedding alone, written once at the end (no
  checkpoints to rank)."""
  c.task = WORD_VECTORS_TASK
  c.checkpoint.best_metric = ''
  return c


def replaced_token_detection(c: ml_collections.ConfigDict,
                             generator_size: float) -> ml_collections.ConfigDict:
  """Turns a pretraining config into ELECTRA's objective (task 'rtd') with its masking: 15% of
  the tokens picked, 85% of those shown to the generator as [MASK] and the rest as themselves."""
  c.task = 'rtd'
  c.mlm.mask_fraction = 0.85
  c.mlm.random_fraction = 0.0
  c.rtd.generator_size = generator_size
  return c


# The sentence-classification benchmarks of Kim (2014), Table 2, as the files in ../shared/data
# hold them: (source under data_dir, text field, label field, eval split ('' carves dev from
# train), cross-validation folds (0: a fixed split, with 10% of train held out as the test split),
# steps per epoch at a batch of 50, the published and baseline figures the row is read against).
SENTENCE_BENCHMARKS = {
    'mr': ('tsv:{}/mr/mr.tsv', 'text', 'label', '', 10, 173,
           'Kim CNN-rand 76.1, CNN-static 81.0; TF-IDF + LR 78.0'),
    'subj': ('tsv:{}/subj/subj.tsv', 'text', 'label', '', 10, 162,
             'Kim CNN-rand 89.6, CNN-static 93.0; TF-IDF + LR 90.6'),
    'cr': ('tsv:{}/cr/cr.tsv', 'text', 'label', '', 10, 61,
           'Kim CNN-rand 79.8, CNN-static 84.7; TF-IDF + LR 80.4'),
    'mpqa': ('tsv:{}/mpqa/mpqa.tsv', 'text', 'label', '', 10, 172,
             'Kim CNN-rand 83.4, CNN-static 89.6; TF-IDF + LR 85.7'),
    'sst1': ('tsv:{}/sst5', 'text', 'label', 'dev', 0, 154,
             'Kim CNN-rand 45.0, CNN-static 45.5 (SST test)'),
    'sst2': ('tsv:{}/sst2_sentences', 'text', 'label', 'dev', 0, 125,
             'Kim CNN-rand 82.7, CNN-static 86.8 (SST test)'),
    'trec': ('tsv:{}/trec/trec_train.tsv', 'text', 'coarse', '', 0, 88,
             'Kim CNN-rand 91.2, CNN-static 92.8 (TREC test)'),
}


def sentence_benchmark(c: ml_collections.ConfigDict, name: str, epochs: int, min_steps: int = 0,
                       data_dir: str = '../shared/data') -> ml_collections.ConfigDict:
  """Points c at one of SENTENCE_BENCHMARKS with its splits (10-fold CV on MR, SUBJ, CR and MPQA; a
  held-out 10% test split and 3 seeds on the others) and trains `epochs` epochs at a batch of 50
  (more on a small dataset, to reach min_steps), evaluating and saving each epoch so that dev
  chooses the checkpoint (early stopping)."""
  source, text_field, label_field, eval_split, folds, epoch, reference = SENTENCE_BENCHMARKS[name]
  c.data.source = source.format(data_dir)
  c.data.text_field = text_field
  c.data.label_field = label_field
  c.data.eval_split = eval_split
  c.data.cv_folds = folds
  c.data.test_fraction = 0.0 if folds else 0.1
  c.data.max_len = 64
  c.reproduce.seeds = (0,) if folds else (0, 1, 2)
  c.reproduce.reference = reference
  c.train.batch_size = 50
  c.train.num_steps = max(epochs, -(-min_steps // epoch)) * epoch
  c.train.log_every_steps = epoch
  c.train.eval_every_steps = epoch
  c.checkpoint.every_steps = epoch
  c.eval.batch_size = 250
  return c
