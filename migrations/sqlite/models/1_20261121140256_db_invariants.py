from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # Partial unique indexes aerich cannot express; the same SQL on SQLite and PostgreSQL.
    return """
        CREATE UNIQUE INDEX IF NOT EXISTS "uniq_membership_one_owner"
            ON "membership" ("workspace_id") WHERE "role" = 'OWNER';
        CREATE UNIQUE INDEX IF NOT EXISTS "uniq_invitation_one_pending"
            ON "invitation" ("workspace_id", "email") WHERE "status" = 'PENDING';
        """


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "uniq_membership_one_owner";
        DROP INDEX IF EXISTS "uniq_invitation_one_pending";
        """


MODELS_STATE = (
    "eJztWltvozgU/iuIp67Urdo0kxlVq5XShO6wbUiVptPRtCPkgJMwAcOAmTbq9r+vba4mkC"
    "aZXEjESyHnAuY7Pu53jv0qWrYOTe9ERr8MDLBhI/FCeBURsCC5ydEeCyJwnERHBRgMTGZu"
    "8HYDD7tAw0QzBKYHiUiHnuYaTvge5JsmFdoaMTTQKBH5yPjpQxXbI4jH0CWKx+/H9Pk6fI"
    "Ee/fkoPtvuxHOABum7PPJa3xOJ0aMILWCYaSF1dSbq0ICmzn2eoVMzJlfx1GGy+3u5fcUs"
    "6dAGqmabvoUSa2eKxzaKzX3f0E+oD9WNIIIuwFBPfTL9ohCfSBR8HRFg14fxZ+mJQIdD4J"
    "sUOPGvoY80ipfA3kT/1P8Oh5YyU1Wl21fvpL6qikvgrNmIxshAmIL6+hY8NwGESUX6gtbn"
    "Zu/ovPEHg8D28MhlSgaX+MYcAQaBKwtQgnIcDx7o1hi4+UDHDhmsyVBXQTkSJDAn0zECMI"
    "JoA6CKFnhRTYhGeEx+ntdO56D8pdkLgK6dMqRtkj9BaimhqhboKOIJwq5twnyAJeRbDGSZ"
    "jAmgIFk4sCPfMmMtdh8UqXchsMsTarY7snIhsMsT6kidS6oMruIKMTlbJCRnxRE5mwkIti"
    "cQqWPgjZeZ97zXegLy/hKztanfqC8Ac6NeCDNV8TCHC/yKMz/x3t7cF28lpS0r/yy5gkdu"
    "F0J4Q5Kg1ZJu+1Kb5EF494R60pfuNRWFN09I+nor96gkvClHemgupLiqAM/Grk002LBgfo"
    "rwnpm46aHrSXRTnhVs8ZQhH6h3kTkNU3UO9H25I931m51b+jrL836aDL9mX6KaGpNOM9Kj"
    "RiZM8UOEB7n/WaA/hW9dRcr+n4/t+t9EOibgY1tF9rMK9NSqEkkj1LiowxfHIE9bIeq85w"
    "FGfU+iHGEyN8zkUY5NYFwlvbO+awh1ODOrSK8/0qzcI7EaTNUlK6ms428UVfsT33dLqATZ"
    "uLZdEtis3zqL1b0Flpb/w0luacr1EHiQr2wXGiN0DaczLDKDatgkeUg/az/BTaRJYrngOe"
    "6czMwvggL5dogD1t28azXbkliwRqwB4nsPLsLMy7kkvAvuzKrIoUtGISj3Nzcim88DoE2e"
    "gaur3MSmGrtmZySx7azKqllZCUBgxDCiH0OHHmLfgdYAut7YcMScDmFKezyvQ2jxdmvtEG"
    "Zagj6dLN8zbcOqFbjTVmDVqCpZo+qHbaCVmDrneIAV2QHX4XRhXJJXplwqSllx9Yqr7x7c"
    "DXB1P6TX22Hp+4prai3Mh3Q3/JyhnsPMo2gUc/Io7Bvdr6+I906Jt+cPfkAth+UV70amXA"
    "5uK7L24cMCTJpYFVJppuOJwJbPOZSsy7GFYw7sugS+kf3hwVs7XQReYlU8f0+rXdmqGqT/"
    "PB19xajznlXUyxL1nL07NvqZ2qqYqKaIA0RYTc515hy2uQyfcHXdg2Z8+DO/NOAPku7XCl"
    "xUH3DZlPS3fxMpvqG+Z4lTCNUmC6Ckps+pgriCv7gU4noMVT10uPXQVqlk2dIzu6mw2K7C"
    "vG2FiksePKtYhEsGzbBVos57buXY1za7D3sS48JTXytRx92wxrKle0Uby00bm9A1tHEeZw"
    "w1cwkjSGxKwxZlhJcgixTmzFQJV8by9nJHdAh/1s7qH+ufzhv1T8SEDTOWfJyz4MpK/x1y"
    "+ItkUJhli/LDlMsBUsSNtMtpUi2BcGh+gOhuhoDbCEOUw8P+vesqBcw7cckSMEPDwn+CaX"
    "gza8UeoD0HXAoGx7siTI86za9ZuFs33cssoaIPuMw7t7DNTeC3/wHOtd/b"
)
