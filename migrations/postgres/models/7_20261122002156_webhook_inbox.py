from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "webhook_event" ADD "next_attempt_at" TIMESTAMPTZ;
        ALTER TABLE "webhook_event" ADD "payload" TEXT;
        COMMENT ON COLUMN "webhook_event"."outcome" IS 'RECEIVED: RECEIVED\nPROCESSED: PROCESSED\nIGNORED: IGNORED\nUNLINKED: UNLINKED\nSUPERSEDED: SUPERSEDED\nFAILED: FAILED\nDEAD: DEAD';
        CREATE INDEX IF NOT EXISTS "idx_webhook_eve_outcome_dc8be5" ON "webhook_event" ("outcome", "next_attempt_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_webhook_eve_outcome_dc8be5";
        ALTER TABLE "webhook_event" DROP COLUMN "next_attempt_at";
        ALTER TABLE "webhook_event" DROP COLUMN "payload";
        COMMENT ON COLUMN "webhook_event"."outcome" IS 'RECEIVED: RECEIVED\nPROCESSED: PROCESSED\nIGNORED: IGNORED\nUNLINKED: UNLINKED\nFAILED: FAILED';"""


MODELS_STATE = (
    "eJztXetz2rgW/1c0/nLTmWwmIWmSy+7sDElol20CnUDavVs6jrEFeGMkast5TLf/+5X8fm"
    "MbTIyrL4FI5wj7dyT5vHT8XVhgBWrGQcdUVHKNZ0IbfBeQtID0S6xvHwjScun3sAYiTTSL"
    "WGJUouaQTQyiSzKhHVNJMyBtUqAh6+qSqBjRVmRqGmvEMiVU0cxvMpH6zYQiwTNI5lCnHV"
    "++0mYVKfAZGuzfL8IT1h+MpSRD9luyDiUCFVEiwldGuXwQpyrUlNCtqAojtdpF8rK02u7u"
    "elfvLEp2JRNRxpq5QD718oXMMfLITVNVDhgP65tBBHX2s4E7ZDfgoOE22TdDG4huQu8uFL"
    "9BgVPJ1BhOwm9TE8kMHmD9Evtz8rtzaQEyUewPRuKwOxJFoQCsMkZMJCoiDMPvP+xxfUCs"
    "VoH9wOUfndu949M3FgTYIDPd6rTgEn5YjBKRbFZLHj7K8BEiIiZhfTmX9GSsgzwRxOkF58"
    "DaQdKD2iXxsfanoIuii1MFyAoL6VnUIJqROf239fZtBtSfOrcW2pTKghvTNWOvpr7T1bL7"
    "GOw+zJI1TYqA7HOUgjg2nWuF8elJDohPT1IRZl1hgCdwinUYB/jP4aCfDLDPEQFYUWUC/g"
    "WaapDdm8sZuDIo2MgLw/imBfHcu+n8FYX68npwEd1O2AAX0Yk9JVAvArvHwFEvj3rgARqD"
    "/or2EHUBk+EPc0Zl4LAeuF92caOhN6gMkPbizJIM0Yx6N93hqHPzMSSfq86oy3paVutLpH"
    "XvNCIzbxDwuTf6A7B/wd+DfjcqRo9u9LfArkkyCRYRfhIlJaBcuK0uatGHCNYTn9XpelGQ"
    "Zw3taHfW20pdyMfT00kLYhrl47j++MHU+OlDoooZUv3DGL+jT2B1hj7AFwvpHr0YCclJD2"
    "XHsPkcHGsnsfVb/UvUpSfPAIrNLgoCvXVIbH2xM7zsXHWF+L6wAXDvDLiD2nteXIM7YQhT"
    "egGgf3d9LViTeCLJD0+Sroih2cx6cAtHWjzaeNeitYi2SEiaWfCw+2BX7cDeQ48qkZzbjp"
    "nygd79LGNeDdNt0Zqn04qYhkCJvghwIalasJGb969r3rvyyG3buwwNtDqPW4c5zE5KlWp3"
    "Wn1hJULHWsKDjQHcReYitvOGwHZ564y1MPjc7962gfUxRp2rm16/DayPMbrp3lywTvtTKC"
    "GTozwiOUqXyFFMIAQ/QCTOJWNeZN6HuTYjkNVbzA47XJwNvuTM97m3N/eFj93+Va//vuAO"
    "7rK1gfOFLoLLy+7HUfeKrgPn2xjddj8NPrAm58sYdf/62LtlLc6XeiwP7jpIh765rgP4vF"
    "TpaCWkHuZsoNR3RMouJplipkMtMYWxzPKO8m5A1PW0FBshacvco7KavBR0XsUYufeqdl7B"
    "Hdoid88tWFNwK/AL+kudOwdXgBvbFevmIcSqDIVk96DVtb/CN+gRbdUxSIeFomM3cF/gK/"
    "sCHXEUy/UJMTXOLVJJro877U2D4AVMDtiuBDzCXZWXpGnQmxPv0sRy8z11hIoy3RomAWQu"
    "JkkJQemI+xzNyyXcrts1bUPZvqt1iyGdXBGdjIBOzD9q6jpEcoLKnA5xkKeJIOfBOB3iWC"
    "7sApuIiIqZYPldqLMeIimpTCG+CM5Mta8I58OqQJ6xK/jlv63W8fFZ6/D49PztydnZ2/PD"
    "c0prXW686yxDFBe9973+KCwG1pCI/lJKei7mgN9l5Pivhb/OAu2IXV4ZIYS4uSTKSYJgIi"
    "XkRmTB77FwzMthPqcmK1RExyEhmnqCAEbwOQX+ZO4mqI1ZoYnuX6NQVCKWQO5FJq4H/fcu"
    "eTSrPLILEQIXS0KxNVFCpCh9/4nyNWYhtI5Ozk7Oj09PvPnvtWRN+/gUn6iaRn+P7tGSUe"
    "zIT5yzCVO7aotoCXUVK9RWl/TCMc8oL4951jnm6UgLogTNNZecHU4u5TpL2YD6I3u6r7Ou"
    "08bgkt8hyZdY58kjcKnXWurhKGFRice4eYpavcWNpKUxxyQxQy3L9o4wNsbw2LIFzvN/0w"
    "XS3Pxfc6mUlHqYk0u9LlJP2Gydq69VKuPuKE67l8lYT2w3lMj4Opl2N5AlIxhzdSkkJNsF"
    "evez8u0WYbqNptxFcuxMlpb5NZKHxxPtXjXRjh8JrdmR0H+wikopPyFGrvvURffJpfEaKa"
    "mX6ftdgIUf3uCnYn4qXbKm4FZwKsY0kvJTqzoPs6u4BvbCOunntxTpa3Whks8UP2vnjynp"
    "UZJMTZ1JTtQYtfjkk69S2IVLSdMMYCVBQAWoCGAEwVSl8gT2MABPrTYGI8A68KbpQVQjWm"
    "esMRqj+/uJKT9Acn8PVAPc3xsyXsK2YU7+gTJp2yOIBqQCVwzvXxYPowx78GB2wIZgQ7d/"
    "U5Xf26eH7aOz07NW6+3p4eH9/Zt9YGDr1yWCF6oMzCUlJb+oSNbhAiJiX7gBJCDT+/gV6P"
    "jJAE9zbMAxci5/LhkAsoPFQNIhsKeSAiYv9GL9w+X39xYyq88Ypdo2NgzJendKvoXH0biD"
    "LUet8zxKdOs8XYtmfdl2zlwlCZnoqQ58l7wxnvuNpQxlVWfIColk1mbYGK5bncVbi4nEdL"
    "DXeaANoUQGJpng56RnWaA38zFmUDoR+4QrH2Ad4PuogDyX0AyCoRVK/Y8B2GjgmykhopIX"
    "sDANAqZY0/DTr+BJVwmBiD2m6P4MDHq5dH5IyLDLVcefblX+0BoPi6LJ73lz3p21Ut+nxB"
    "ZjjhkOssKpkWumRNZNC6/8EBMP8v6ELi8En1l2hJ2hXVz0Cezbkf82N8AdEXeuVBpHVkV0"
    "8CAL18OjevhSxzI0jFIbZ5R3K0mHfOWUWzmaZBAR6npS2ez040dhriaczdj2sSMeReBRhD"
    "p6u+uckjIMVCQRknwEwf79TC9BlLLKWlA8B4UXe8qF9tbMbF7sqWnQ81I4lXqRlpqExAdY"
    "qBROkKcJGnLVp5fp70D9MakORTrGQZ7mYZwncJketjyP7RIsNOLGGAp4SmJ83F0SO0rEDA"
    "dNpDhlndi8wFiDEkpxN6cMEQF7QseoCm2vZbu63cVgcB2yry96UQP6jmXQ7h1Zc50SqQSu"
    "kENhZ3+QkZ+SrbPHyhZVuZBOmJXLuc5yhiXf3hDk4xKus4TtYpFkrfoWaWNwye+Q5EvUt0"
    "gegUu9zlKndyppZYQdYuQyrrOMNYq6QbzChKWcr1ljNM/Kr9QZy0vJ/BSrjpeSed1SMoY8"
    "h4qpldzvkrn5Tpdrp1tStYCVCi3r3UzlL7UW6ob/ptPCgmDB6RTKRH2EZXLEsgbiGl6tnz"
    "VMZMYLkpmxTUqXd0gYZosvQB7+r3/pvIe4QLUHm6sN7M8xir8P+V2nd80o7E+hxCZZRdDH"
    "grlwkl8CaxOeSdvO9PNgLOXNjHPz3bHOuyM/b5K+zzX3vAkvKtg0qScs9joWFaybtHkOdw"
    "NyuAM5WQQuEvIKLxy2dx9uoSa5SdTJgAeTsnt0uAbh/mNbye4WbisS3l1s8yW9i6pLzjPf"
    "eeY7z3xfzwWpqyk6QEZ2cICngSnYFeKsYfxgLgtnYyfwNsGbsQXYSzjVebZwlhe98VVxLz"
    "rDbhtMJFb6bNjtjNpWfZsxuut/6A8+99vARA/UpkI18I/yHLQN6Sk1N955DhqXuhAzggqZ"
    "IQms3HOT7bmJnrNe03kTPeC9mxCv9N8kTLQ6HcO36v0meCPcOsDpHgi34DB3OjTY6WDX2y"
    "3kcvBZuMMhj0XG3nlf6Jysx9A8k/e4leclGZQq47h37DUZ1mcBfF365sHbOswDL6VKn7+H"
    "MXh5kDwd/d0Ml/Ig+c8o9bQgecwiyBNrlExFJaKGZ+vFGztsmGt7lN3aeFPDjOFsMmSdjF"
    "GJhcOawdmeN1BD4fJLbq+JVPiFdzu2vbxKAPsznMwxfug+Quv3YuZiqH8/y2x8silF6JGu"
    "rOo+mkPgsAEVTfBzG1Bu/QXQPyq9AQVYg+0DHcpYZ2/k2HtSyRyoxAATrLy8ARM4xbpboR"
    "1Qa9MAzlsbQlXdq/qhMaJ60z6r+I4ARUZT7ReFSMgeDzhFVrEO9phvfaJq2oFzHcaB1/km"
    "Z3X4LwK2TDDH2xA5/0WJKYFJZGw/XKPlkb8WMrkzqvnwmPMKEzDd7LbgKoC1S1/nOFJJvD"
    "f4xhcf39D6yAtyiKmBtiE/uVo3V33NrYO4UUgfi1B9LGUVRlgbKOgdNQvzOAN2rsA8X+El"
    "V3hAcSyT8BJg3+L5wNvuZbf3qfgJQZevDdxvY/TxdnDZHQ5Zo/d1jHrv+4Nb1uZ8Ydkx17"
    "3+B9bkfhuj4d3H7i2lt04det+j5wzH6Krbof+xv1ELJZfGtPH3TBc+bMiPGK5xxJC//mTT"
    "59ylFw1LCdpn+gQOsPApXHwK1/KNTTskk13QCgqEBSp1THpHwJK8ksHzYRkuyRAZT2dpbD"
    "rLVjMBamd/RrTEfGpilp7IUwG49c/EY7/6vITUw5z81XI1e8TX8oUwURE3MzYU9Kmya5DL"
    "LbAYM9ej67zI7NK4ZjlHaoyZy7pusuapVJXlBr1OFlXdtMy8ULFSzOvjxEZp6HTiqWa5ob"
    "KK2mGTTPDzelAN6UADb5xGQhU4C7bBSjxNgqtKX2EHUl14LiQ4Cp2e/SwvoeTT1MZFmBoR"
    "SjSwEmJBzt5c3+S7jcSC0j2Cj3RvTjzOmm7LBlga6BesxIZli6oAwg55A9GtxuuKEXFyqc"
    "MI/zkc9FPcrT5L1EpUZQL+BZpqVBY3fh0DkYGRHeiMxjT3w0YfG+Ai6YT8NgNfP/4Pff6W"
    "Aw=="
)
