/* test_config.c - the strict config reader: shipped configs load and
 * validate, every kind of bad input is refused with a message naming the
 * key or file, --set overrides, the JSON round trip, which keys count as
 * given, the sizes taken from the training data (and a given key the data
 * contradicts refused), and configs/README.md lists every key of the
 * registry.
 *
 * Run from the repository root. `test_config --doc` prints the generated key
 * table of configs/README.md (paste it between the markers there). */
#include "core/config.h"
#include "fixtures.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>
#include <string.h>

/* registry access, defined in config.c */
int fke_config_key_count(void);
const char *fke_config_key_name(int i);
char *fke_config_doc(void);

static const char *shipped[] = {"configs/fke-small.json", "configs/fke-paper.json",
                                "configs/demo.json", "configs/fmnist.json",
                                "configs/fmnist-best.json", "configs/deepfashion.json"};

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

/* The same values in a and b (which keys were given aside). */
static int same_values(const fke_config *a, const fke_config *b)
{
    fke_config x = *b;
    memcpy(x.given, a->given, sizeof x.given);
    return memcmp(a, &x, sizeof x) == 0;
}

/* from_json over JSON text; the message goes to e. */
static fke_status from_text(fke_config *c, const char *json, fke_err *e)
{
    fke_config_defaults(c);
    return fke_config_from_json(c, json, "t.json", e);
}

/* A bad JSON text must fail with code st and a message holding each of want[]. */
static void expect_bad(const char *json, fke_status st, const char *w1, const char *w2)
{
    fke_config c, before;
    fke_err e = {{0}};
    fke_config_defaults(&c);
    before = c;
    fke_status s = fke_config_from_json(&c, json, "t.json", &e);
    FKE_CHECK(s == st, "%s -> status %d (%s), message: %s", json, s, fke_status_name(s), e.msg);
    FKE_CHECK(contains(e.msg, "t.json"), "%s: message names no origin: %s", json, e.msg);
    FKE_CHECK(contains(e.msg, w1), "%s: message lacks '%s': %s", json, w1, e.msg);
    if (w2) FKE_CHECK(contains(e.msg, w2), "%s: message lacks '%s': %s", json, w2, e.msg);
    FKE_CHECK(memcmp(&c, &before, sizeof c) == 0, "%s: failed load changed the config", json);
}

static void expect_set_bad(const char *as, const char *w1, const char *w2)
{
    fke_config c, before;
    fke_err e = {{0}};
    fke_config_defaults(&c);
    before = c;
    fke_status s = fke_config_set(&c, as, &e);
    FKE_CHECK(s == FKE_ERR_CONFIG, "--set %s -> %d: %s", as, s, e.msg);
    FKE_CHECK(contains(e.msg, w1), "--set %s: message lacks '%s': %s", as, w1, e.msg);
    if (w2) FKE_CHECK(contains(e.msg, w2), "--set %s: message lacks '%s': %s", as, w2, e.msg);
    FKE_CHECK(memcmp(&c, &before, sizeof c) == 0, "--set %s: failure changed the config", as);
}

/* Validation of defaults + one override must fail naming key. */
static void expect_invalid(const char *as1, const char *as2, const char *key)
{
    fke_config c;
    fke_err e = {{0}};
    fke_config_defaults(&c);
    fke_status s = fke_config_set(&c, as1, &e);
    if (s == FKE_OK && as2) s = fke_config_set(&c, as2, &e);
    FKE_CHECK(s == FKE_OK, "--set %s %s: %s", as1, as2 ? as2 : "", e.msg);
    s = fke_config_validate(&c, &e);
    char want[80];
    snprintf(want, sizeof want, "\"%s", key);
    FKE_CHECK(s == FKE_ERR_CONFIG && contains(e.msg, want), "%s %s: validate -> %d: %s", as1,
              as2 ? as2 : "", s, e.msg);
}

static void test_defaults_and_presets(void)
{
    fke_config c;
    fke_err e = {{0}};
    fke_config_defaults(&c);
    FKE_CHECK(fke_config_validate(&c, &e) == FKE_OK, "defaults do not validate: %s", e.msg);
    FKE_CHECK(!strcmp(c.preset, "fke-small") && c.img == 64 && c.crop == 32 && c.G == 5 &&
                  c.cnn == FKE_CNN_SMALL && c.chans[0] == 32 && c.chans[2] == 128 && c.F == 128 &&
                  c.H == 128 && c.H2 == 128 && c.M == 128 && c.V == 2000 && c.D == 64 &&
                  c.L == 16 && c.Co == 32 && c.T == 128 && c.n_occ == 10 && c.n_cat == 10 &&
                  c.n_attr == 4 && c.n_val[0] == 8 && c.n_val[1] == 4 && c.n_val[3] == 3 &&
                  c.batch == 20,
              "fke-small sizes");
    FKE_CHECK(c.optimizer == FKE_OPT_SGD && c.momentum == 0.9 && c.weight_decay == 1e-5 &&
                  c.lr == 0.01 && c.lr_cnn_mult == 0.5 && c.lr_theta_mult == 0.001 &&
                  c.lr_step_epochs == 4 && c.lr_gamma == 0.1 && c.beta == 0.5 &&
                  c.dropout_text == 0.4 && c.dropout_head == 0.5 && c.adam_b1 == 0.9 &&
                  c.adam_b2 == 0.999 && c.adam_eps == 1e-8 && c.theta_eps == 1e-6,
              "recipe defaults");
    FKE_CHECK(c.context == FKE_CTX_ALL && c.text == 1 && c.correction == FKE_CORR_FORWARD &&
                  c.cell == FKE_CELL_LSTM && c.task == FKE_TASK_FKE && c.seed == 1 &&
                  c.threads == 0 && c.epochs == 12 && c.steps == 0 && c.eval_every == 0 &&
                  c.log_every == 10 && !strcmp(c.out_dir, "runs/default") && c.pad == 0 &&
                  !c.train_data[0] && !c.val_data[0] && !c.test_data[0] && !c.t_init[0],
              "run defaults");
    FKE_CHECK(fke_config_preset(&c, "fke-paper", &e) == FKE_OK, "fke-paper: %s", e.msg);
    FKE_CHECK(!strcmp(c.preset, "fke-paper") && c.cnn == FKE_CNN_RESNET18 && c.img == 224 &&
                  c.crop == 224 && c.F == 512 && c.H == 512 && c.H2 == 512 && c.M == 512 &&
                  c.V == 7383 && c.D == 300 && c.L == 16 && c.Co == 32 && c.T == 512 &&
                  c.n_attr == 4 && c.batch == 20 && c.lr == 0.01,
              "fke-paper sizes");
    FKE_CHECK(fke_config_validate(&c, &e) == FKE_OK, "fke-paper does not validate: %s", e.msg);
    fke_config before = c;
    fke_status s = fke_config_preset(&c, "fke-huge", &e);
    FKE_CHECK(s == FKE_ERR_CONFIG && contains(e.msg, "fke-huge") && contains(e.msg, "fke-paper"),
              "unknown preset: %s", e.msg);
    FKE_CHECK(memcmp(&c, &before, sizeof c) == 0, "unknown preset changed the config");
}

static void test_shipped(void)
{
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
        fke_config c;
        fke_err e = {{0}};
        fke_config_defaults(&c);
        fke_status s = fke_config_load(&c, shipped[i], &e);
        FKE_CHECK(s == FKE_OK, "%s: %s", shipped[i], e.msg);
        if (s == FKE_OK) s = fke_config_validate(&c, &e);
        FKE_CHECK(s == FKE_OK, "%s does not validate: %s", shipped[i], e.msg);
        FKE_CHECK(strncmp(c.out_dir, "runs/", 5) == 0 && strncmp(c.train_data, "data/", 5) == 0,
                  "%s: its ../runs and ../data are the repository's: out_dir %s",
                  shipped[i], c.out_dir);
    }
    fke_config c;
    fke_err e = {{0}};
    fke_config_defaults(&c);
    FKE_CHECK(fke_config_load(&c, "configs/fke-paper.json", &e) == FKE_OK &&
                  c.cnn == FKE_CNN_RESNET18 && c.F == 512,
              "fke-paper.json");
    fke_config_defaults(&c);
    FKE_CHECK(fke_config_load(&c, "configs/fmnist.json", &e) == FKE_OK &&
                  c.task == FKE_TASK_CLASSIFY && c.pad == 2 && c.img == 32 && c.batch == 64 &&
                  c.epochs == 3 && c.lr == 0.05 && c.weight_decay == 0 &&
                  c.lr_step_epochs == 0 && c.lr_cnn_mult == 1 && c.momentum == 0.9,
              "fmnist.json recipe");
}

static void test_bad_json(void)
{
    /* preset applies first whatever the key order */
    fke_config c;
    fke_err e = {{0}};
    FKE_CHECK(from_text(&c, "{\"H\": 64, \"preset\": \"fke-paper\", \"lr\": 0.1}", &e) == FKE_OK &&
                  c.H == 64 && c.F == 512 && c.lr == 0.1,
              "preset after a key: H=%d F=%d (%s)", c.H, c.F, e.msg);
    FKE_CHECK(from_text(&c, "{\"comment\": \"hi\", \"text\": false, \"n_val\": [5, 6]}", &e) ==
                      FKE_OK &&
                  c.text == 0 && c.n_attr == 2 && c.n_val[0] == 5 && c.n_val[1] == 6 &&
                  c.n_val[2] == 0,
              "comment/text/n_val: %s", e.msg);

    expect_bad("{\"lerning_rate\": 0.1}", FKE_ERR_CONFIG, "\"lerning_rate\"", "did you mean \"lr\"");
    expect_bad("{\"bacth\": 20}", FKE_ERR_CONFIG, "unknown key \"bacth\"", "\"batch\"");
    expect_bad("{\"zzzzqqq\": 1}", FKE_ERR_CONFIG, "unknown key \"zzzzqqq\"", NULL);
    expect_bad("{\"batch\": \"20\"}", FKE_ERR_CONFIG, "key \"batch\": expected an integer, got string", NULL);
    expect_bad("{\"batch\": 2.5}", FKE_ERR_CONFIG, "key \"batch\"", "integer");
    expect_bad("{\"lr\": -0.1}", FKE_ERR_CONFIG, "key \"lr\": expected a number > 0, got -0.1", NULL);
    expect_bad("{\"lr\": true}", FKE_ERR_CONFIG, "key \"lr\": expected a number, got boolean", NULL);
    expect_bad("{\"momentum\": 1}", FKE_ERR_CONFIG, "key \"momentum\"", "[0, 1)");
    expect_bad("{\"cell\": \"rnn\"}", FKE_ERR_CONFIG, "key \"cell\"", "\"lstm\", \"gru\"");
    expect_bad("{\"context\": 1}", FKE_ERR_CONFIG, "key \"context\"", "\"visual\"");
    expect_bad("{\"preset\": \"fke-huge\"}", FKE_ERR_CONFIG, "key \"preset\"", "\"fke-paper\"");
    expect_bad("{\"text\": \"on\"}", FKE_ERR_CONFIG, "key \"text\"", "boolean");
    expect_bad("{\"n_val\": [8, 4, 1]}", FKE_ERR_CONFIG, "key \"n_val[2]\"", "[2, 100000]");
    expect_bad("{\"n_val\": []}", FKE_ERR_CONFIG, "key \"n_val\"", "1 to 8");
    expect_bad("{\"n_val\": [2,2,2,2,2,2,2,2,2]}", FKE_ERR_CONFIG, "key \"n_val\"", "9");
    expect_bad("{\"chans\": [32, 64]}", FKE_ERR_CONFIG, "key \"chans\"", "3 integers");
    expect_bad("{\"chans\": 32}", FKE_ERR_CONFIG, "key \"chans\"", "got number");
    expect_bad("{\"out_dir\": \"\"}", FKE_ERR_CONFIG, "key \"out_dir\"", "non-empty");
    expect_bad("{\"seed\": -1}", FKE_ERR_CONFIG, "key \"seed\"", NULL);
    expect_bad("{\"model\": {\"H\": 3}}", FKE_ERR_CONFIG, "unknown key \"model\"", NULL);
    expect_bad("{\"lr\": 0.1, \"lr\": 0.2}", FKE_ERR_CONFIG, "\"lr\" appears twice", NULL);
    expect_bad("{\"comment\": 3}", FKE_ERR_CONFIG, "key \"comment\"", NULL);
    expect_bad("[1, 2]", FKE_ERR_CONFIG, "expected a JSON object", NULL);
    expect_bad("{\"lr\": 0.1,\n \"batch\": }", FKE_ERR_FORMAT, "not valid JSON", "line 2");
    expect_bad("{\"lr\": 0.1", FKE_ERR_FORMAT, "not valid JSON", NULL);
    expect_bad("{} trailing", FKE_ERR_FORMAT, "not valid JSON", NULL);

    /* files */
    fke_config_defaults(&c);
    fke_status s = fke_config_load(&c, "configs/no-such-config.json", &e);
    FKE_CHECK(s == FKE_ERR_IO && contains(e.msg, "configs/no-such-config.json"), "missing: %s",
              e.msg);
    const char *tmp = fke_test_path("bad.json");
    int ok = fke_test_write_text(tmp, "{\n  \"lr\": 0.01,\n  \"epochs\": 3,,\n}\n");
    FKE_CHECK(ok, "cannot write %s", tmp);
    if (ok) {
        s = fke_config_load(&c, tmp, &e);
        FKE_CHECK(s == FKE_ERR_FORMAT && contains(e.msg, tmp) && contains(e.msg, "line 3"),
                  "malformed file: %s", e.msg);
        fke_test_write_text(tmp, "{\"preset\": \"fke-small\", \"lr\": -1}");
        s = fke_config_load(&c, tmp, &e);
        FKE_CHECK(s == FKE_ERR_CONFIG && contains(e.msg, tmp) && contains(e.msg, "\"lr\""),
                  "bad value in file: %s", e.msg);
    }
}

static void test_set(void)
{
    fke_config c;
    fke_err e = {{0}};
    fke_config_defaults(&c);
    const char *ok[] = {"lr=0.05",       "text=off",         "context=visual", "correction=none",
                        "cell=gru",      "optimizer=adam",   "n_val=5,4",      "chans=[8, 16, 32]",
                        "F=32",          "out_dir=runs/x y", "seed=12345678901", " batch = 8 ",
                        "train_data=",   "comment=whatever"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        FKE_CHECK(fke_config_set(&c, ok[i], &e) == FKE_OK, "--set %s: %s", ok[i], e.msg);
    FKE_CHECK(c.lr == 0.05 && c.text == 0 && c.context == FKE_CTX_VISUAL &&
                  c.correction == FKE_CORR_NONE && c.cell == FKE_CELL_GRU &&
                  c.optimizer == FKE_OPT_ADAM && c.n_attr == 2 && c.n_val[0] == 5 &&
                  c.n_val[1] == 4 && c.chans[0] == 8 && c.chans[2] == 32 && c.F == 32 &&
                  !strcmp(c.out_dir, "runs/x y") && c.seed == 12345678901ull && c.batch == 8,
              "--set values");
    FKE_CHECK(fke_config_validate(&c, &e) == FKE_OK, "after --set: %s", e.msg);
    FKE_CHECK(fke_config_set(&c, "text=on", &e) == FKE_OK && c.text == 1, "text=on");
    FKE_CHECK(fke_config_set(&c, "text=true", &e) == FKE_OK && c.text == 1, "text=true");
    FKE_CHECK(fke_config_set(&c, "text=false", &e) == FKE_OK && c.text == 0, "text=false");
    FKE_CHECK(fke_config_set(&c, "preset=fke-paper", &e) == FKE_OK && c.F == 512 && c.H == 512 &&
                  c.n_attr == 4 && c.lr == 0.05,
              "--set preset keeps the recipe, resets sizes");

    expect_set_bad("lerning_rate=0.1", "unknown key \"lerning_rate\"", "\"lr\"");
    expect_set_bad("nosuchkey=1", "unknown key \"nosuchkey\"", NULL);
    expect_set_bad("lr", "key=value", NULL);
    expect_set_bad("=3", "key=value", NULL);
    expect_set_bad("lr=-1", "key \"lr\"", "> 0");
    expect_set_bad("lr=fast", "key \"lr\"", "expected a number");
    expect_set_bad("lr=", "key \"lr\"", "expected a number");
    expect_set_bad("batch=3.5", "key \"batch\"", "integer");
    expect_set_bad("text=maybe", "key \"text\"", "on or off");
    expect_set_bad("context=both", "key \"context\"", "\"all\", \"visual\", \"task\", \"none\"");
    expect_set_bad("n_val=8,x", "key \"n_val[1]\"", "integer");
    expect_set_bad("n_val=8,", "key \"n_val[1]\"", "integer");
    expect_set_bad("chans=1,2,3,4", "key \"chans\"", "3 integers");
    expect_set_bad("dropout_head=1", "key \"dropout_head\"", "[0, 1)");
    expect_set_bad("momentum=inf", "key \"momentum\"", NULL);

    /* cross-field rules */
    expect_invalid("batch=7", NULL, "batch");
    expect_invalid("F=64", NULL, "F");
    expect_invalid("img=60", NULL, "img");
    expect_invalid("crop=20", NULL, "crop");
    expect_invalid("cnn=resnet18", NULL, "F");
    expect_invalid("epochs=0", NULL, "epochs");
    expect_invalid("pad=2", NULL, "pad");
    expect_invalid("task=classify", "pad=32", "pad");
    /* allowed ones */
    fke_config_defaults(&c);
    FKE_CHECK(fke_config_set(&c, "task=classify", &e) == FKE_OK &&
                  fke_config_set(&c, "batch=7", &e) == FKE_OK &&
                  fke_config_validate(&c, &e) == FKE_OK,
              "classify with odd batch: %s", e.msg);
    fke_config_defaults(&c);
    FKE_CHECK(fke_config_set(&c, "epochs=0", &e) == FKE_OK &&
                  fke_config_set(&c, "steps=100", &e) == FKE_OK &&
                  fke_config_validate(&c, &e) == FKE_OK,
              "steps instead of epochs: %s", e.msg);
    /* validate also catches values set directly in the struct */
    fke_config_defaults(&c);
    c.lr = 0;
    FKE_CHECK(fke_config_validate(&c, &e) == FKE_ERR_CONFIG && contains(e.msg, "\"lr\""),
              "lr = 0: %s", e.msg);
    fke_config_defaults(&c);
    c.n_attr = 0;
    FKE_CHECK(fke_config_validate(&c, &e) == FKE_ERR_CONFIG && contains(e.msg, "\"n_val\""),
              "n_attr = 0: %s", e.msg);
    fke_config_defaults(&c);
    c.cell = (fke_cell_kind)7;
    FKE_CHECK(fke_config_validate(&c, &e) == FKE_ERR_CONFIG && contains(e.msg, "\"cell\""),
              "cell = 7: %s", e.msg);
}

static void test_round_trip(void)
{
    fke_config a, b;
    fke_err e = {{0}};
    memset(&a, 0, sizeof a);
    fke_config_defaults(&a);
    const char *mods[] = {"preset=fke-paper", "lr=0.0123456789012345", "n_val=7,2,9",
                          "text=off",         "seed=9007199254740992", "cell=gru",
                          "out_dir=runs/\"quoted\"\\path", "dropout_text=0.1",
                          "weight_decay=3e-7", "context=task", "t_init=data/T.h5",
                          "beta=0.30000000000000004", "lr_gamma=0.33333333333333331",
                          "momentum=0.89999999999999991"};
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        FKE_CHECK(fke_config_set(&a, mods[i], &e) == FKE_OK, "--set %s: %s", mods[i], e.msg);
    char *js = fke_config_to_json(&a);
    FKE_CHECK(js != NULL, "to_json returned NULL");
    if (!js) return;
    /* b starts from other values: everything must come from the JSON */
    memset(&b, 0, sizeof b);
    fke_config_defaults(&b);
    fke_config_set(&b, "chans=1,2,3", &e);
    fke_config_set(&b, "n_val=2,2,2,2,2,2,2,2", &e);
    fke_status s = fke_config_from_json(&b, js, "round-trip", &e);
    FKE_CHECK(s == FKE_OK, "from_json(to_json): %s", e.msg);
    FKE_CHECK(same_values(&a, &b), "round trip differs:\n%s", js);
    /* a checkpoint's config is final: every key it holds counts as given */
    int ungiven = 0;
    for (int i = 0; i < fke_config_key_count(); i++)
        ungiven += strcmp(fke_config_key_name(i), "comment") && !b.given[i];
    FKE_CHECK(ungiven == 0, "%d keys of a config from JSON do not count as given", ungiven);
    /* every key except comment is written */
    for (int i = 0; i < fke_config_key_count(); i++) {
        char q[80];
        const char *k = fke_config_key_name(i);
        snprintf(q, sizeof q, "\"%s\":", k);
        if (strcmp(k, "comment") != 0) FKE_CHECK(contains(js, q), "to_json lacks %s", k);
    }
    FKE_CHECK(!contains(js, "\"comment\""), "to_json writes comment");
    free(js);

    /* defaults too (the checkpoint case), through a fresh struct */
    fke_config_defaults(&a);
    js = fke_config_to_json(&a);
    memset(&b, 0xff, sizeof b);
    fke_config_defaults(&b);
    FKE_CHECK(fke_config_from_json(&b, js, "round-trip", &e) == FKE_OK && same_values(&a, &b),
              "defaults round trip: %s", e.msg);
    free(js);
}

/* Which keys count as given: written by a file or --set (even with the
 * default value), or changed in the struct; not a default or a preset's. */
static void test_given(void)
{
    fke_config c;
    fke_err e = {{0}};
    fke_config_defaults(&c);
    int any = 0;
    for (int i = 0; i < fke_config_key_count(); i++) any += fke_config_given(&c, fke_config_key_name(i));
    FKE_CHECK(any == 0, "defaults: %d keys count as given", any);
    FKE_CHECK(!fke_config_given(&c, "no_such_key") && !fke_config_given(&c, "comment"),
              "unknown key and comment are never given");
    FKE_CHECK(from_text(&c, "{\"preset\": \"fke-paper\", \"n_cat\": 10, \"lr\": 0.1}", &e) == FKE_OK,
              "%s", e.msg);
    FKE_CHECK(fke_config_given(&c, "n_cat") && fke_config_given(&c, "lr") &&
                  fke_config_given(&c, "preset"),
              "keys written in the file are given, even at the default value");
    FKE_CHECK(!fke_config_given(&c, "img") && !fke_config_given(&c, "V") &&
                  !fke_config_given(&c, "n_occ") && !fke_config_given(&c, "in_ch") && c.img == 224,
              "the preset's values are not given");
    FKE_CHECK(fke_config_set(&c, "img=32", &e) == FKE_OK && fke_config_given(&c, "img"),
              "--set img=32 is given");
    FKE_CHECK(fke_config_set(&c, "preset=fke-small", &e) == FKE_OK && !fke_config_given(&c, "img") &&
                  !fke_config_given(&c, "n_cat") && c.img == 64 && fke_config_given(&c, "lr"),
              "--set preset resets its keys to preset values, not given (img %d)", c.img);
    fke_config_defaults(&c);
    c.n_cat = 12; /* a program filling the struct */
    c.V = 2000;   /* ... with the default value: not told apart from it */
    FKE_CHECK(fke_config_given(&c, "n_cat") && !fke_config_given(&c, "V"),
              "a value changed in the struct counts as given");
    /* a failed --set changes nothing, flags included */
    fke_config_defaults(&c);
    fke_config before = c;
    FKE_CHECK(fke_config_set(&c, "n_cat=1", &e) != FKE_OK && memcmp(&c, &before, sizeof c) == 0,
              "a refused --set leaves the config (and its flags) as they were");
}

/* the sizes of the tiny dataset of tests/test_extract.c */
static void tiny_data(fke_config_data *d)
{
    fke_config_data_none(d);
    d->n_occ = 4, d->n_cat = 5, d->n_attr = 2, d->n_val[0] = 3, d->n_val[1] = 4;
    d->V = 30, d->G = 3, d->img = 16, d->crop = 8, d->L = 8, d->in_ch = 3;
}

/* fke_config_from_data on json (a config file's text): must give status
 * want; on failure the message holds w1 and w2 and c is unchanged. */
static void from_data(fke_config *c, const char *json, const fke_config_data *d, fke_status want,
                      const char *w1, const char *w2)
{
    fke_err e = {{0}};
    FKE_CHECK(from_text(c, json, &e) == FKE_OK, "%s: %s", json, e.msg);
    fke_config before = *c;
    char taken[512] = "x";
    fke_status st = fke_config_from_data(c, d, "data/d.h5", taken, sizeof taken, &e);
    FKE_CHECK(st == want, "%s: from_data -> %d (%s)", json, st, e.msg);
    if (st != FKE_OK) {
        FKE_CHECK(contains(e.msg, "data/d.h5") && contains(e.msg, w1) && (!w2 || contains(e.msg, w2)),
                  "%s: message lacks data/d.h5, '%s' or '%s': %s", json, w1, w2 ? w2 : "", e.msg);
        FKE_CHECK(memcmp(c, &before, sizeof *c) == 0, "%s: a refusal changed the config", json);
    }
}

static void test_from_data(void)
{
    fke_config c;
    fke_err e = {{0}};
    fke_config_data d;
    tiny_data(&d);
    /* nothing given: every size is the data's */
    char taken[512] = "";
    fke_config_defaults(&c);
    FKE_CHECK(fke_config_from_data(&c, &d, "data/d.h5", taken, sizeof taken, &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(c.n_occ == 4 && c.n_cat == 5 && c.n_attr == 2 && c.n_val[0] == 3 && c.n_val[1] == 4 &&
                  c.n_val[2] == 0 && c.V == 30 && c.G == 3 && c.img == 16 && c.crop == 8 &&
                  c.L == 8 && c.in_ch == 3,
              "sizes from the data: n_occ %d n_cat %d n_attr %d V %d G %d img %d crop %d L %d",
              c.n_occ, c.n_cat, c.n_attr, c.V, c.G, c.img, c.crop, c.L);
    FKE_CHECK(contains(taken, "n_occ 4") && contains(taken, "n_val [3, 4]") && contains(taken, "V 30") &&
                  contains(taken, "img 16"),
              "the keys taken are listed: %s", taken);
    FKE_CHECK(fke_config_validate(&c, &e) == FKE_OK, "sizes from the data validate: %s", e.msg);
    /* the rest of the config is untouched */
    fke_config ref;
    fke_config_defaults(&ref);
    FKE_CHECK(c.F == ref.F && c.lr == ref.lr && c.batch == ref.batch && c.H == ref.H,
              "from_data changes only the sizes");
    /* preset fke-paper's values are defaults too */
    from_data(&c, "{\"preset\": \"fke-paper\"}", &d, FKE_OK, NULL, NULL);
    FKE_CHECK(c.img == 16 && c.crop == 8 && c.V == 30 && c.cnn == FKE_CNN_RESNET18,
              "fke-paper with the data's sizes: img %d V %d", c.img, c.V);
    /* given keys that agree are kept; a larger V is fine */
    from_data(&c, "{\"n_cat\": 5, \"img\": 16, \"V\": 100, \"n_val\": [3, 4]}", &d, FKE_OK, NULL, NULL);
    FKE_CHECK(c.n_cat == 5 && c.V == 100 && c.n_occ == 4, "agreeing keys: V %d", c.V);
    /* given keys the data contradicts: the key, the config's value and the data's */
    from_data(&c, "{\"n_cat\": 12}", &d, FKE_ERR_CONFIG, "key \"n_cat\" = 12", "n_cat = 5");
    from_data(&c, "{\"img\": 64}", &d, FKE_ERR_CONFIG, "key \"img\" = 64", "img = 16");
    from_data(&c, "{\"preset\": \"fke-paper\", \"crop\": 224}", &d, FKE_ERR_CONFIG,
              "key \"crop\" = 224", "crop = 8");
    from_data(&c, "{\"n_val\": [3, 4, 2]}", &d, FKE_ERR_CONFIG, "key \"n_val\" = [3, 4, 2]",
              "n_val = [3, 4]");
    from_data(&c, "{\"V\": 20}", &d, FKE_ERR_CONFIG, "key \"V\" = 20", "V = 30");
    from_data(&c, "{\"L\": 16}", &d, FKE_ERR_CONFIG, "key \"L\" = 16", "L = 8");
    from_data(&c, "{\"in_ch\": 1}", &d, FKE_ERR_CONFIG, "key \"in_ch\" = 1", "in_ch = 3");
    /* --set gives a key too */
    fke_config_defaults(&c);
    FKE_CHECK(fke_config_set(&c, "G=4", &e) == FKE_OK, "%s", e.msg);
    FKE_CHECK(fke_config_from_data(&c, &d, "data/d.h5", NULL, 0, &e) == FKE_ERR_CONFIG &&
                  contains(e.msg, "key \"G\" = 4") && contains(e.msg, "G = 3"),
              "--set G=4 on data with G 3: %s", e.msg);
    /* a struct filled in code: a changed value counts as given */
    fke_config_defaults(&c);
    c.n_occ = 7;
    FKE_CHECK(fke_config_from_data(&c, &d, "data/d.h5", NULL, 0, &e) == FKE_ERR_CONFIG &&
                  contains(e.msg, "\"n_occ\" = 7"),
              "n_occ = 7 set in the struct: %s", e.msg);
    /* a checkpoint's config (every key given) must match exactly: a resume */
    fke_config_defaults(&c);
    char *js = fke_config_to_json(&c);
    fke_config_defaults(&c);
    FKE_CHECK(js && fke_config_from_json(&c, js, "ckpt", &e) == FKE_OK, "%s", e.msg);
    free(js);
    FKE_CHECK(fke_config_from_data(&c, &d, "data/d.h5", NULL, 0, &e) == FKE_ERR_CONFIG &&
                  contains(e.msg, "\"img\" = 64"),
              "a checkpoint's config on other data: %s", e.msg);
    /* data values keep the keys' ranges */
    fke_config_data bad = d;
    bad.n_cat = 1;
    from_data(&c, "{}", &bad, FKE_ERR_CONFIG, "key \"n_cat\"", "[2, 100000], got 1");
    bad = d;
    bad.n_occ = 1; /* data without occasions */
    from_data(&c, "{}", &bad, FKE_OK, NULL, NULL);
    FKE_CHECK(c.n_occ == 1, "one occasion from the data, got %d", c.n_occ);
    bad = d;
    bad.V = 1; /* the padding alone */
    from_data(&c, "{}", &bad, FKE_OK, NULL, NULL);
    FKE_CHECK(c.V == 2, "a one-word vocabulary gives V = 2, got %d", c.V);
    /* fields below 0 are skipped */
    fke_config_data none;
    fke_config_data_none(&none);
    from_data(&c, "{\"n_cat\": 12}", &none, FKE_OK, NULL, NULL);
    FKE_CHECK(c.n_cat == 12 && c.img == 64, "nothing from a set that fixes nothing");
    /* task classify: classes, channels and the padded side */
    fke_config_data_none(&none);
    none.n_cat = 10, none.in_ch = 1, none.img = 28 + 2 * 2;
    from_data(&c, "{\"task\": \"classify\", \"pad\": 2, \"n_cat\": 10}", &none, FKE_OK, NULL, NULL);
    FKE_CHECK(c.n_cat == 10 && c.in_ch == 1 && c.img == 32 && c.G == 5,
              "classify from an image set: n_cat %d in_ch %d img %d", c.n_cat, c.in_ch, c.img);
}

static void test_readme(void)
{
    char *readme = read_text("configs/README.md");
    FKE_CHECK(readme != NULL, "configs/README.md missing");
    if (!readme) return;
    int n = fke_config_key_count();
    FKE_CHECK(n > 40, "registry has %d keys", n);
    for (int i = 0; i < n; i++) {
        char q[80];
        snprintf(q, sizeof q, "| `%s` |", fke_config_key_name(i));
        FKE_CHECK(contains(readme, q), "configs/README.md lacks key %s", fke_config_key_name(i));
    }
    FKE_CHECK(fke_config_key_name(n) == NULL && fke_config_key_name(-1) == NULL, "key_name range");
    char *doc = fke_config_doc();
    FKE_CHECK(doc && contains(readme, doc),
              "configs/README.md's key table is stale: regenerate it with "
              "`%s/tests/test_config --doc`",
              getenv("FKE_BUILD") ? getenv("FKE_BUILD") : "build");
    free(doc);
    free(readme);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--doc") == 0) {
        char *doc = fke_config_doc();
        if (!doc) return 1;
        fputs(doc, stdout);
        free(doc);
        return 0;
    }
    if (!fke_test_tmpdir("config")) return 1;
    test_defaults_and_presets();
    test_shipped();
    test_bad_json();
    test_set();
    test_round_trip();
    test_given();
    test_from_data();
    test_readme();
    return fke_test_finish("config");
}
