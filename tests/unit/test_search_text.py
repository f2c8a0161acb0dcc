from app.domain.search_text import digits_of, text_variants, tokens


def test_kana_forms_of_what_was_typed():
    assert text_variants("やまだ") == ["やまだ", "ヤマダ"]
    assert text_variants("ﾔﾏﾀﾞ") == ["ﾔﾏﾀﾞ", "ヤマダ", "やまだ"]
    assert text_variants("山田") == ["山田"]
    assert text_variants("  ") == []


def test_digits_of_a_number_as_printed():
    assert digits_of("901121-0000-00011-1") == "9011210000000111"
    assert digits_of("９０１１ ２１") == "901121"
    assert digits_of("品川") == ""


def test_words_split_on_either_space():
    assert tokens("高崎　5678 ") == ["高崎", "5678"]
