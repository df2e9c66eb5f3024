package tenancy

// CleanName trims a display name (of an organization, a project, ...) and
// checks it is valid UTF-8, printable and at most 200 characters; field
// names the request field in the FieldError. It is the one rule for names
// across the auth service's domains.
func CleanName(field, name string) (string, error) { return cleanName(field, name) }
