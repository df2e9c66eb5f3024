package jsonvalue

// AppendEscapedASCII appends the escape of an ASCII byte that a JSON
// string cannot hold as it is, or that a writer chose to escape: '"' and
// '\\' after a backslash, \b \f \n \r \t, any other as \u00XX in lower-case
// hex. protojson and encoding/json agree on it; they differ only in which
// bytes they escape (see chschema.JSONText and otlpmap's jsonText).
func AppendEscapedASCII(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}
