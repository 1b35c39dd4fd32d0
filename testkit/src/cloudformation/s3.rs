//! The few S3 calls (path-style) deploy makes for the bundle and the site.

use super::*;

/// Path-style S3: HeadObject, PutObject, ListObjectsV2, DeleteObjects.
pub(super) fn s3(state: &mut State, request: &Request) -> Answer {
    let path = request.path.trim_start_matches('/').to_owned();
    let (bucket, key) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let action = format!("S3 {} /{path}", request.method);
    state.calls.push(Call {
        action: action.clone(),
    });
    if let Some(refusal) = state.refused(&action) {
        return (
            refusal.status,
            vec![("Content-Type".to_owned(), "application/xml".to_owned())],
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code>\
                 <Message>{}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>",
                refusal.code,
                esc(&refusal.message)
            ),
        );
    }
    // Single-part ETags are the MD5 of the bytes, which publishing compares with its files.
    let etag = |bytes: &[u8]| {
        let hex: String = Md5::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("\"{hex}\"")
    };
    match (request.method.as_str(), key.is_empty()) {
        ("HEAD", false) => match state.objects.get(&path) {
            Some(bytes) => (
                200,
                vec![
                    ("ETag".to_owned(), etag(bytes)),
                    ("Content-Length".to_owned(), bytes.len().to_string()),
                ],
                String::new(),
            ),
            None => (404, Vec::new(), String::new()),
        },
        ("PUT", false) => {
            let tag = etag(&request.body);
            state.objects.insert(path.clone(), request.body.clone());
            (200, vec![("ETag".to_owned(), tag)], String::new())
        }
        ("GET", true) if request.query.contains("list-type=2") => {
            let contents = listing(&state.objects, bucket, "Contents", "", &etag);
            xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Name>{bucket}</Name><Prefix></Prefix><KeyCount>0</KeyCount>\
                 <MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}\
                 </ListBucketResult>"
            ))
        }
        ("GET", true) if request.query.contains("versions") => {
            let versions = listing(
                &state.objects,
                bucket,
                "Version",
                "<VersionId>null</VersionId><IsLatest>true</IsLatest>",
                &etag,
            );
            xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Name>{bucket}</Name><Prefix></Prefix><KeyMarker></KeyMarker>\
                 <VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys>\
                 <IsTruncated>false</IsTruncated>{versions}</ListVersionsResult>"
            ))
        }
        // The deployment records (text) that deploy, status and rollback read back.
        ("GET", false) => match state.objects.get(&path) {
            Some(bytes) => (
                200,
                vec![("ETag".to_owned(), etag(bytes))],
                String::from_utf8_lossy(bytes).into_owned(),
            ),
            None => (
                404,
                vec![("Content-Type".to_owned(), "application/xml".to_owned())],
                "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                    .to_owned(),
            ),
        },
        ("POST", true) if request.query.contains("delete") => {
            let body = String::from_utf8_lossy(&request.body).into_owned();
            for part in body.split("<Key>").skip(1) {
                if let Some((key, _)) = part.split_once("</Key>") {
                    state.objects.remove(&format!("{bucket}/{key}"));
                }
            }
            xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>"
                .to_owned())
        }
        _ => (
            400,
            vec![("Content-Type".to_owned(), "application/xml".to_owned())],
            format!(
                "<Error><Code>NotImplemented</Code><Message>the fake does not answer {} {}</Message></Error>",
                request.method,
                esc(&request.path)
            ),
        ),
    }
}

/// The objects of `bucket` as listing entries `<ELEMENT><Key>…</Key>EXTRA<ETag>…` and the rest.
fn listing(
    objects: &BTreeMap<String, Vec<u8>>,
    bucket: &str,
    element: &str,
    extra: &str,
    etag: &dyn Fn(&[u8]) -> String,
) -> String {
    let prefix = format!("{bucket}/");
    objects
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?, v)))
        .map(|(k, v)| {
            format!(
                "<{element}><Key>{}</Key>{extra}<ETag>{}</ETag><Size>{}</Size>\
                 <LastModified>2026-05-01T12:00:00.000Z</LastModified>\
                 <StorageClass>STANDARD</StorageClass></{element}>",
                esc(k),
                esc(&etag(v)),
                v.len()
            )
        })
        .collect()
}
