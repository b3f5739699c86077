-- 0005: names carry their SAN type ("dns:", "ip:", "uri:", "email:"; see
-- src/policy/names.h), so that an IP address is never taken for a URI or a
-- DNS name of the same text.
--
-- certificates.names: rebuilt from the certificate itself (the DER is the
-- truth), by the SQL function mca_der_names() that mtlsca registers before
-- migrating; a row whose DER cannot be read keeps its names, which then
-- match nothing on renewal.
UPDATE certificates SET names = coalesce(mca_der_names(der), names);

-- tokens.names: typed by the classification the names had when they were
-- minted: an IP literal (mca_ip_canon(), inet_pton) is an IP address,
-- text with "://" a URI, anything else a DNS name or "*." pattern.
UPDATE tokens SET names = (
	SELECT json_group_array(typed) FROM (
		SELECT CASE
			WHEN mca_ip_canon(value) IS NOT NULL THEN 'ip:' || mca_ip_canon(value)
			WHEN value GLOB '*://*' THEN 'uri:' || value
			ELSE 'dns:' || value
		END AS typed
		FROM json_each(tokens.names) ORDER BY key));
