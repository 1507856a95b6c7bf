/* test_config.c - the strict config reader: shipped configs load and
 * validate, every kind of bad input is refused with a message naming the
 * key or file, --set overrides, the JSON round trip, and configs/README.md
 * lists every key of the registry.
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
                                "configs/fmnist-best.json"};

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
        FKE_CHECK(strncmp(c.out_dir, "runs/", 5) == 0 && c.train_data[0], "%s: out_dir %s",
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
    FKE_CHECK(memcmp(&a, &b, sizeof a) == 0, "round trip differs:\n%s", js);
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
    FKE_CHECK(fke_config_from_json(&b, js, "round-trip", &e) == FKE_OK &&
                  memcmp(&a, &b, sizeof a) == 0,
              "defaults round trip: %s", e.msg);
    free(js);
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
    test_readme();
    return fke_test_finish("config");
}
