/* Strict base64url (RFC 7515 section 2, RFC 4648 section 5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/b64.h"

static void
dec_ok(const char *in, const char *want)
{
	unsigned char *out;
	size_t len;

	assert_int_equal(b64u_decode(in, strlen(in), &out, &len), ACME_OK);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	assert_int_equal(out[len], 0);
	free(out);
}

static void
dec_bad(const char *in)
{
	unsigned char *out = (unsigned char *)"x";
	size_t len = 99;

	assert_int_equal(b64u_decode(in, strlen(in), &out, &len), ACME_EINVAL);
	assert_null(out);
}

/* RFC 4648 section 10 vectors, without padding. */
static void
test_rfc4648_vectors(void **state)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	char buf[16], *s;
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_int_equal(b64u_encode_buf((const unsigned char *)plain[i], strlen(plain[i]), buf),
		    strlen(enc[i]));
		assert_string_equal(buf, enc[i]);
		assert_int_equal(B64U_ENCLEN(strlen(plain[i])), strlen(enc[i]));
		s = b64u_encode((const unsigned char *)plain[i], strlen(plain[i]));
		assert_string_equal(s, enc[i]);
		free(s);
		dec_ok(enc[i], plain[i]);
	}
}

static void
test_url_alphabet(void **state)
{
	static const unsigned char bin[] = { 0xfb, 0xff, 0xbf };
	char buf[8];
	unsigned char out[3];
	size_t len;

	(void)state;
	b64u_encode_buf(bin, 3, buf);
	assert_string_equal(buf, "-_-_");
	assert_int_equal(b64u_decode_buf("-_-_", 4, out, sizeof(out), &len), ACME_OK);
	assert_memory_equal(out, bin, 3);
	dec_bad("+/+/");
	dec_bad("-_+_");
}

static void
test_rejects(void **state)
{
	(void)state;
	dec_bad("Zg==");          /* padding */
	dec_bad("Zm8=");
	dec_bad("Zm9v=");
	dec_bad("Z");             /* length 1 mod 4 */
	dec_bad("Zm9vY");
	dec_bad("Zm9 v");         /* whitespace */
	dec_bad("Zm9v\n");
	dec_bad(" Zm9v");
	dec_bad("Zh");            /* non-zero trailing bits: Zg is canonical */
	dec_bad("Zm9");           /* Zm8 is canonical */
	dec_bad("Zm9vYh");
	dec_bad("Zm\x80v");       /* non-ASCII */
	dec_bad("Zm.v");
}

static void
test_embedded_nul(void **state)
{
	unsigned char *out = NULL;
	size_t len;

	(void)state;
	assert_int_equal(b64u_decode("Zm\0v", 4, &out, &len), ACME_EINVAL);
	assert_null(out);
}

static void
test_buffer_too_small(void **state)
{
	unsigned char out[5];
	size_t len;

	(void)state;
	assert_int_equal(b64u_decode_buf("Zm9vYmFy", 8, out, 5, &len), ACME_ETOOBIG);
	assert_int_equal(b64u_decode_buf("Zm9vYmE", 7, out, 5, &len), ACME_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "fooba", 5);
}

static void
test_roundtrip_all_lengths(void **state)
{
	unsigned char in[300], out[300];
	char enc[B64U_ENCLEN(300) + 1];
	size_t n, i, len;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (n = 0; n <= sizeof(in); n++) {
		assert_int_equal(b64u_encode_buf(in, n, enc), B64U_ENCLEN(n));
		assert_int_equal(b64u_decode_buf(enc, strlen(enc), out, sizeof(out), &len), ACME_OK);
		assert_int_equal(len, n);
		assert_memory_equal(in, out, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_url_alphabet),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_roundtrip_all_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
