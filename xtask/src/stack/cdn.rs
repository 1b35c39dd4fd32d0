//! The CDN: one CloudFront distribution serving the page from the site bucket and `/api/*`
//! from API Gateway, with the security headers, and the origin secret on every API request.

use super::{STAGE_NAME, add, get_att, global_name, ids, origin, sign_in};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Resource, Template};
use crate::env::Environment;
use chatbot_contract::{CONTENT_SECURITY_POLICY, content_security_policy_connecting_to};

/// CloudFront's managed cache policies and the origin's paths.
const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";

const SITE_ORIGIN: &str = "site";
const API_ORIGIN: &str = "api";

/// CloudFront signing its requests to the site bucket, the security headers, what the API is
/// sent of a viewer's request, and the distribution.
pub(super) fn add_to(env: &Environment, t: &mut Template) {
    add(
        t,
        ids::ORIGIN_ACCESS_CONTROL,
        Resource::new(Properties::OriginAccessControl(OriginAccessControl {
            origin_access_control_config: OriginAccessControlConfig {
                name: global_name("site"),
                description: "CloudFront signs its requests to the site bucket".into(),
                origin_access_control_origin_type: "s3".into(),
                signing_behavior: "always".into(),
                signing_protocol: "sigv4".into(),
            },
        })),
    );

    add(
        t,
        ids::SECURITY_HEADERS,
        Resource::new(Properties::ResponseHeadersPolicy(ResponseHeadersPolicy {
            response_headers_policy_config: ResponseHeadersPolicyConfig {
                name: global_name("security-headers"),
                comment: "CSP, HSTS, nosniff, no framing".into(),
                security_headers_config: SecurityHeadersConfig {
                    content_security_policy: ContentSecurityPolicy {
                        content_security_policy: content_security_policy(env),
                        r#override: true,
                    },
                    content_type_options: OverrideOnly { r#override: true },
                    frame_options: FrameOptions {
                        frame_option: "DENY".into(),
                        r#override: true,
                    },
                    referrer_policy: ReferrerPolicy {
                        referrer_policy: "strict-origin-when-cross-origin".into(),
                        r#override: true,
                    },
                    strict_transport_security: StrictTransportSecurity {
                        access_control_max_age_sec: 63_072_000,
                        include_subdomains: true,
                        preload: false,
                        r#override: true,
                    },
                },
            },
        })),
    );

    add(
        t,
        ids::API_ORIGIN_REQUEST,
        Resource::new(Properties::OriginRequestPolicy(OriginRequestPolicy {
            origin_request_policy_config: OriginRequestPolicyConfig {
                name: global_name("api"),
                comment: "What the API needs of the viewer request, with the viewer's address; not Host, which API Gateway must see as its own".into(),
                cookies_config: CookiesConfig {
                    cookie_behavior: "none".into(),
                },
                headers_config: HeadersConfig {
                    header_behavior: "whitelist".into(),
                    headers: vec![
                        "Accept".into(),
                        "CloudFront-Viewer-Address".into(),
                        "Content-Type".into(),
                    ],
                },
                query_strings_config: QueryStringsConfig {
                    query_string_behavior: "all".into(),
                },
            },
        })),
    );

    if env.auth.users().is_some() {
        add(
            t,
            ids::API_CACHE_POLICY,
            Resource::new(Properties::CachePolicy(CachePolicy {
                cache_policy_config: CachePolicyConfig {
                    name: global_name("api-signed-in"),
                    comment: "Passes the viewer's Authorization header to the API, which an origin request policy may not; it is in the cache key, so no answer could ever be served to another token, and the API's answers are not cached (default TTL 0)".into(),
                    min_ttl: 0,
                    default_ttl: 0,
                    // Above 0 only because CloudFront refuses a cache key with headers otherwise.
                    max_ttl: 1,
                    parameters_in_cache_key_and_forwarded_to_origin: CacheKeyParameters {
                        enable_accept_encoding_gzip: false,
                        enable_accept_encoding_brotli: false,
                        cookies_config: CookiesConfig {
                            cookie_behavior: "none".into(),
                        },
                        headers_config: HeadersConfig {
                            header_behavior: "whitelist".into(),
                            headers: vec!["Authorization".into()],
                        },
                        query_strings_config: QueryStringsConfig {
                            query_string_behavior: "all".into(),
                        },
                    },
                },
            })),
        );
    }

    let viewer_certificate = match &env.domain {
        Some(domain) => ViewerCertificate {
            acm_certificate_arn: Some(domain.certificate_arn.clone()),
            cloud_front_default_certificate: None,
            minimum_protocol_version: Some("TLSv1.2_2021".into()),
            ssl_support_method: Some("sni-only".into()),
        },
        None => ViewerCertificate {
            acm_certificate_arn: None,
            cloud_front_default_certificate: Some(true),
            minimum_protocol_version: None,
            ssl_support_method: None,
        },
    };
    let all_methods = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"];
    let mut distribution = Resource::new(Properties::Distribution(Distribution {
        distribution_config: DistributionConfig {
            comment: Expr::sub("${AWS::StackName} chatbot"),
            enabled: true,
            aliases: env.domain.iter().map(|d| d.name.clone()).collect(),
            default_root_object: "index.html".into(),
            http_version: "http2and3".into(),
            ipv6_enabled: true,
            price_class: "PriceClass_100".into(),
            origins: vec![
                Origin {
                    id: SITE_ORIGIN.into(),
                    domain_name: get_att(ids::SITE_BUCKET, "RegionalDomainName"),
                    origin_path: None,
                    origin_access_control_id: Some(get_att(ids::ORIGIN_ACCESS_CONTROL, "Id")),
                    s3_origin_config: Some(S3OriginConfig {
                        origin_access_identity: String::new(),
                    }),
                    custom_origin_config: None,
                    origin_custom_headers: Vec::new(),
                },
                Origin {
                    id: API_ORIGIN.into(),
                    domain_name: Expr::sub(format!(
                        "${{{}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}",
                        ids::REST_API
                    )),
                    origin_path: Some(format!("/{STAGE_NAME}")),
                    origin_access_control_id: None,
                    s3_origin_config: None,
                    custom_origin_config: Some(CustomOriginConfig {
                        origin_protocol_policy: "https-only".into(),
                        origin_ssl_protocols: vec!["TLSv1.2".into()],
                        // Seconds to the first byte (a whole JSON reply) and between two
                        // packets of a streamed one; the env check keeps it at least the
                        // function's timeout.
                        origin_read_timeout: env.api.origin_read_timeout_seconds,
                        origin_keepalive_timeout: 5,
                    }),
                    // Proves to API Gateway and the function that a request came through
                    // CloudFront; a viewer sending these headers has them replaced.
                    origin_custom_headers: origin::origin_headers(),
                },
            ],
            default_cache_behavior: CacheBehavior {
                path_pattern: None,
                target_origin_id: SITE_ORIGIN.into(),
                viewer_protocol_policy: "redirect-to-https".into(),
                allowed_methods: vec!["GET".into(), "HEAD".into()],
                cached_methods: vec!["GET".into(), "HEAD".into()],
                cache_policy_id: Expr::str(CACHING_OPTIMIZED),
                origin_request_policy_id: None,
                response_headers_policy_id: get_att(ids::SECURITY_HEADERS, "Id"),
                compress: true,
            },
            cache_behaviors: vec![CacheBehavior {
                path_pattern: Some(format!("{}/*", chatbot_contract::API_PREFIX)),
                target_origin_id: API_ORIGIN.into(),
                viewer_protocol_policy: "https-only".into(),
                allowed_methods: all_methods.iter().map(|m| (*m).to_owned()).collect(),
                cached_methods: vec!["GET".into(), "HEAD".into()],
                cache_policy_id: api_cache_policy(env),
                origin_request_policy_id: Some(get_att(ids::API_ORIGIN_REQUEST, "Id")),
                response_headers_policy_id: get_att(ids::SECURITY_HEADERS, "Id"),
                compress: false,
            }],
            viewer_certificate,
        },
    }))
    .skip_check(
        "CKV_AWS_68",
        "No WAF: the API has stage throttling and a per-client rate limit, and a web ACL costs more than this chatbot",
    )
    .skip_check(
        "CKV_AWS_86",
        "API requests are logged by API Gateway's access log; the static page needs no access log",
    );
    if env.domain.is_none() {
        distribution = distribution.skip_check(
            "CKV_AWS_174",
            format!(
                "Without a custom domain CloudFront serves its own *.cloudfront.net certificate and fixes its TLS policy; envs/{}.toml has no [domain]",
                env.name
            ),
        );
    }
    add(t, ids::DISTRIBUTION, distribution);
}

/// The page's Content-Security-Policy: [`CONTENT_SECURITY_POLICY`], and in `users` mode also
/// managed login's origin, whose token endpoint the page calls to trade a code or a refresh
/// token.
fn content_security_policy(env: &Environment) -> Expr {
    match env.auth.users() {
        None => Expr::str(CONTENT_SECURITY_POLICY),
        Some(users) => Expr::sub(content_security_policy_connecting_to(
            &sign_in::login_origin(env, users),
        )),
    }
}

/// The API behaviour's cache policy: none cached, and in `users` mode the one that passes the
/// `Authorization` header on.
fn api_cache_policy(env: &Environment) -> Expr {
    if env.auth.users().is_some() {
        get_att(ids::API_CACHE_POLICY, "Id")
    } else {
        Expr::str(CACHING_DISABLED)
    }
}
