#!/usr/bin/env python3
"""Answers shared-config questions with botocore, for test/test_awsconfig_diff.c.

stdin:  {"config": path, "credentials": path,
         "queries":  [[profile, key], ...],
         "services": [[section, service, key], ...],
         "profiles": [profile, ...]}            (optional)
stdout: one JSON list: the value (a string, or null) for each query, then
        for each services entry, then true/false for each "profiles" name
        (whether the profile exists); or null when botocore cannot parse
        the files (ConfigParseError).

Profiles are read through Session.get_scoped_config() (the config file's
profiles with the credentials file merged on top, as Session.full_config
builds them). A key "parent.child" names a sub-section key: each '.' is
tried from the left, then the whole key as a plain key. A sub-section
(a dict) asked for as a plain value answers null. Services are read the
way ConfiguredEndpointProvider reads [services NAME] sections.
"""
import json
import os
import sys

import botocore.exceptions
import botocore.session
from botocore.configprovider import ConfiguredEndpointProvider


def profile_value(scoped, key):
    dot = key.find('.')
    while dot >= 0:
        parent = scoped.get(key[:dot])
        if isinstance(parent, dict) and isinstance(parent.get(key[dot + 1:]), str):
            return parent[key[dot + 1:]]
        dot = key.find('.', dot + 1)
    value = scoped.get(key)
    return value if isinstance(value, str) else None


def main():
    req = json.load(sys.stdin)
    for name in ('AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_CONFIG_FILE',
                 'AWS_SHARED_CREDENTIALS_FILE'):
        os.environ.pop(name, None)
    os.environ['AWS_CONFIG_FILE'] = req['config']
    os.environ['AWS_SHARED_CREDENTIALS_FILE'] = req['credentials']
    session = botocore.session.Session()
    try:
        full = session.full_config
    except botocore.exceptions.ConfigParseError:
        print('null')
        return
    out = []
    for profile, key in req.get('queries', []):
        session.set_config_variable('profile', profile)
        try:
            scoped = session.get_scoped_config()
        except botocore.exceptions.ProfileNotFound:
            out.append(None)
            continue
        out.append(profile_value(scoped, key))
    for section, service, key in req.get('services', []):
        # What the endpoint resolver does with a profile that says
        # "services = <section>"; '-' and case are handled there, ' ' is
        # a service ID's spelling of '-'.
        provider = ConfiguredEndpointProvider(
            full_config=full, scoped_config={'services': section},
            client_name=service.replace(' ', '-'), environ={})
        try:
            if key == 'endpoint_url':
                value = provider._get_endpoint_url_config_service()
            else:
                entry = provider._get_services_config().get(
                    provider._transformed_service_id.lower(), {})
                value = entry.get(key) if isinstance(entry, dict) else None
        except (botocore.exceptions.InvalidConfigError, AttributeError):
            value = None  # no such section / the service key is a plain value
        out.append(value if isinstance(value, str) else None)
    for profile in req.get('profiles', []):
        out.append(profile in full['profiles'])
    print(json.dumps(out))


if __name__ == '__main__':
    main()
