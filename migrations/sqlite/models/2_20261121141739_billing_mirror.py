from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "webhook_event" (
    "id" VARCHAR(255) NOT NULL PRIMARY KEY,
    "type" VARCHAR(128) NOT NULL,
    "stripe_created" TIMESTAMP NOT NULL,
    "received_at" TIMESTAMP NOT NULL,
    "processed_at" TIMESTAMP,
    "outcome" VARCHAR(10) NOT NULL /* RECEIVED: RECEIVED\nPROCESSED: PROCESSED\nIGNORED: IGNORED\nUNLINKED: UNLINKED\nFAILED: FAILED */,
    "error" TEXT,
    "attempts" INT NOT NULL
);
        CREATE TABLE IF NOT EXISTS "audit_log" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "event_id" VARCHAR(255),
    "action" VARCHAR(64) NOT NULL,
    "before" JSON,
    "after" JSON,
    "created_at" TIMESTAMP NOT NULL,
    "actor_id" CHAR(36) REFERENCES "user" ("id") ON DELETE SET NULL,
    "workspace_id" CHAR(36) REFERENCES "workspace" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_audit_log_workspa_e3bd7d" ON "audit_log" ("workspace_id", "created_at");
        CREATE TABLE IF NOT EXISTS "invoice" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "stripe_id" VARCHAR(255) NOT NULL UNIQUE,
    "stripe_customer_id" VARCHAR(255) NOT NULL,
    "subscription_stripe_id" VARCHAR(255),
    "number" VARCHAR(64),
    "status" VARCHAR(32) NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "amount_due" BIGINT NOT NULL,
    "amount_paid" BIGINT NOT NULL,
    "amount_remaining" BIGINT NOT NULL,
    "total" BIGINT NOT NULL,
    "hosted_invoice_url" TEXT,
    "attempt_count" INT NOT NULL,
    "billing_reason" VARCHAR(64),
    "period_start" TIMESTAMP,
    "period_end" TIMESTAMP,
    "stripe_created" TIMESTAMP NOT NULL,
    "snapshot_at" BIGINT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "workspace_id" CHAR(36) REFERENCES "workspace" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_invoice_stripe__c091bf" ON "invoice" ("stripe_customer_id");
CREATE INDEX IF NOT EXISTS "idx_invoice_subscri_126083" ON "invoice" ("subscription_stripe_id");
CREATE INDEX IF NOT EXISTS "idx_invoice_workspa_dcb77e" ON "invoice" ("workspace_id", "stripe_created");
        CREATE TABLE IF NOT EXISTS "seat_outbox" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "reason" VARCHAR(32) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "next_attempt_at" TIMESTAMP NOT NULL,
    "attempts" INT NOT NULL,
    "processed_at" TIMESTAMP,
    "last_error" TEXT,
    "workspace_id" CHAR(36) NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE
) /* A membership change Stripe's seat quantity must follow; written in the same transaction. */;
CREATE INDEX IF NOT EXISTS "idx_seat_outbox_next_at_e29b22" ON "seat_outbox" ("next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_seat_outbox_process_26e174" ON "seat_outbox" ("processed_at");
        CREATE TABLE IF NOT EXISTS "subscription" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "stripe_id" VARCHAR(255) NOT NULL UNIQUE,
    "stripe_customer_id" VARCHAR(255) NOT NULL,
    "status" VARCHAR(32) NOT NULL,
    "plan_key" VARCHAR(64),
    "interval" VARCHAR(8),
    "seat_quantity" INT NOT NULL,
    "cancel_at_period_end" INT NOT NULL,
    "cancel_at" TIMESTAMP,
    "canceled_at" TIMESTAMP,
    "ended_at" TIMESTAMP,
    "current_period_start" TIMESTAMP,
    "current_period_end" TIMESTAMP,
    "trial_end" TIMESTAMP,
    "latest_invoice_stripe_id" VARCHAR(255),
    "stripe_created" TIMESTAMP NOT NULL,
    "snapshot_at" BIGINT NOT NULL,
    "schedule_stripe_id" VARCHAR(255),
    "pending_seat_quantity" INT,
    "pending_seat_effective_at" TIMESTAMP,
    "seat_sync_state" VARCHAR(8) NOT NULL /* SYNCED: SYNCED\nPENDING: PENDING\nFAILED: FAILED */,
    "seat_sync_error" TEXT,
    "seat_synced_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "workspace_id" CHAR(36) NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_subscriptio_stripe__c7ff47" ON "subscription" ("stripe_customer_id");
        CREATE TABLE IF NOT EXISTS "subscription_item" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "stripe_id" VARCHAR(255) NOT NULL UNIQUE,
    "price_id" VARCHAR(255) NOT NULL,
    "price_lookup_key" VARCHAR(255),
    "quantity" INT NOT NULL,
    "role" VARCHAR(8) NOT NULL /* BASE: base\nSEAT: seat\nUNKNOWN: unknown */,
    "current_period_start" TIMESTAMP,
    "current_period_end" TIMESTAMP,
    "subscription_id" CHAR(36) NOT NULL REFERENCES "subscription" ("id") ON DELETE CASCADE
);
        ALTER TABLE "workspace" ADD "stripe_customer_id" VARCHAR(255);
        ALTER TABLE "workspace" ADD "restricted_at" TIMESTAMP;
        CREATE UNIQUE INDEX "uid_workspace_stripe__69033d" ON "workspace" ("stripe_customer_id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "uid_workspace_stripe__69033d";
        ALTER TABLE "workspace" DROP COLUMN "stripe_customer_id";
        ALTER TABLE "workspace" DROP COLUMN "restricted_at";
        DROP TABLE IF EXISTS "subscription";
        DROP TABLE IF EXISTS "subscription_item";
        DROP TABLE IF EXISTS "audit_log";
        DROP TABLE IF EXISTS "webhook_event";
        DROP TABLE IF EXISTS "invoice";
        DROP TABLE IF EXISTS "seat_outbox";"""


MODELS_STATE = (
    "eJztXWtz2joa/isef9nuTLaTkDTNye7sDCS0h9MEOoG03dN0PMIo4BMjUVvOZXry31cyvl"
    "s2tsFEOPoSiKRX2M8rye/lkfxLneMJNO23bWdikAs8VU+VXyoCc0i/pOr2FBUsFmENKyBg"
    "bLqNAWulmV6zsU0soBNacQtMG9KiCbR1y1gQAyNaihzTZIVYpw0NNA2LHGT8dKBG8BSSGb"
    "RoxfcftNhAE/gIbfbvd/UBW3f2AuiQ/ZZuQUDgRANE/cFaLu60WwOak9itGBPW1C3XyNPC"
    "Lbu+7p1/cFuyKxlrOjadOQpbL57IDKOgueMYk7dMhtVNIYIW+9nIHbIb8NDwi5Y3QwuI5c"
    "DgLiZhwQTeAsdkOKn/uXWQzuBR3F9if47+611apJmm9QcjbdgdaZpaAlYdI6YSAxGG4a/n"
    "Zb8hIG6pyn7g7Pf21ZvD43+6EGCbTC230oVLfXYFAQFLUVcfIcrwHiKi8bA+mwGLj3VUJo"
    "E4veACWHtIBlD7TUKswyHoo+jjVAOy6hw8aiZEUzKj/7bevcuB+kv7ykWbtnLhxnTOLGdT"
    "36tqLesY7CHMwB0mZUAOJSpBnBrOQmF8fFQA4uOjTIRZVRzgMbzFFkwD/Mdw0OcDHEokAJ"
    "4YOlH+VkzDJrs3lnNwZVCwnue2/dOM4vnmsv0tCfXZxaCTXE5YB53kwL4l0CoDeyAgUa+O"
    "euQBmoL+nNYQYw758MclkzrwRN/6X3ZxoaE3OBkg88kbJTmqGfUuu8NR+/JzTD/n7VGX1b"
    "Tc0qdE6ZvjhM6CTpSvvdHvCvtX+XPQ7ybVGLQb/amyawIOwRrCDxqYRIwLv9RHLfkQwRb3"
    "WZ1tF0Vl1rCOdme+rbSFQjwDm7Qkpkk5ievzMzPjb++4JmbM9I9j/IE+gY0p+gSfXKR79G"
    "IA0nkPZc+x+RrtayexDUvDS7TAQ+AApUYXBYHeOiRLe7E9PGufd9X0urABcK9tuIPWe1Fc"
    "oythDFN6AUr/+uJCdQfxGOh3D8CaaLHRzGpwCydKgrbpqnlrniwBCExdeNh9sKv2YO+he4"
    "MA77ZTrnykdi/PmTfi7bbozdNhRRxbpY2+q3AODDNaKN37l3XvfX0U9u19gQZ6nYet/QJu"
    "J22V6Xe6dXEjwsIm58HGAO4iZ55aeWNg+7IiY60Ovva7V6eK+3GD2ueXvf6p4n7coMvuZY"
    "dVLj/VCjo5KKKSg2yNHKQUQvAdRNoM2LMy4z4utRmFrF5idjjg4i3wFUd+KL29sa9+7vbP"
    "e/2PJVdwX+xU8b7QSXB21v086p7TeeB9u0FX3S+DT6zI+3KDut8+965YifdFjOkhQwfZ0D"
    "c3dAAfFwbtrYLW45IN1PqOaNnHJFfNtKsFpjBWmd5J2Q2oWkxPsRGadt09qqvxU8ngVUpQ"
    "Rq+Eiwru0BK5e2FBQcGtIS4YTnUZHFwBbmpVFC1CiA0dqvzwoFu1tyI2GDTaamCQdgs1z2"
    "+QscAXjgV66ijH9YkJNS4sUgvXxx/2jk3wHPITtisBT0jXFSVpGvTOOLg0rdp4z+yhJqZb"
    "wzSAnPmYRwjKRjyUaB6XcLth16wFZfuh1i2mdApldHISOqn4qGNZEOkckzkb4qhME0Eugn"
    "E2xCku7Bw7iGgTh+P5dYxpD5EMKlNMLoEzM+1rwnm/LpCn7Ar+9VurdXj4vrV/eHzy7uj9"
    "+3cn+ye0rXu56ar3Oaro9D72+qO4GlgBF/0F4D0XC8DvC0r818LfYol2xC6vihJi0lIT1T"
    "RBMAEcbkQe/IGIxLwa5jPqssKJ5gUkNMfiKGAEHzPg50s3wWzMS010v41iWYkUgTzITFwM"
    "+h/95klWeWIVIgTOF4Ri6yBOpih7/UnKNWYitA6O3h+dHB4fBeM/KMkb9ukhPjZMk/4eXa"
    "OBXW7LT1qyCUO7bo9oAS0DT6ivDqzSOc+krMx5ipzz9LQFEcdyLaRnT1JqWWQtJ7IGJTWd"
    "lpaUFbHVjcDCnmHCZazk2eIJwcYYIlu2yCUfMFshzeUDOotJRa3HJaXWRdE6Z7H1rl4oat"
    "PuGE67x2wSE9sNEZtehnlzCVly0p4ZC5VDvonU7uXxb+bxdhul4CQ4Nw6jaf1I8HIk8eZF"
    "iTdyi5hgW8T+wgaqZPzEBKXtI4rtU8jitTOoWNnrXUREkrklS/5V2ZKCglsDS96xeXy1uv"
    "jxu4prZC0UyT4fQkAGDhnjR5Vjn0dqc+1zm7bTcNhwlYGutpXQpFf0GUBTqAzdyPM/bIX1"
    "pvx0ACIGeVLmjk2UW2ya+OHfyoNlEAKRYiCF2u+KTS+Xog2QvTzt723SPKr1h1bz+Uv5DX"
    "mx2qKUIW/kicse32KINsefKJ1ZXjOjLNqiVTsHVMbEX6GHgOAjSyYtCS7lVc8R347+t7kA"
    "7oi6C2UePV1xyPSr6E88Nv3uJhw3xnxaWFiHtl1p4UzKboWjIWdOtZljApto0LJ4pw5msz"
    "fjUk2gtm2btSmDLjLoImJwQOQM3jCyoVPlxQii9Xu5UYJkyzq30suUndwrXwjtrbnZcq98"
    "06CXO4lrjSItTIC0O1hqJ3FUpgkWct2bP+jvQOuet40vG+OoTPMwPikA8UkmwiepVYKlRv"
    "wcQ4lISUpOhktSzGvmOJgaxSlvY0sHYxMClBFuzugiAfaY9lEX2kHJdm27zmBwEfOvO72k"
    "A33NCEdvDtyxThsZBK7QQ+lgf1RQbioSOWK1VFW1lE5cVOpZZD3DioffRuWkhkXW8PKsne"
    "CBV2nbb1YfUvM7pPkK24D5PUiti6x1eqfArKLsmKDUscg6NinqNgnOdakUfM3ro3lefq3B"
    "WLnz/lXMOrnz/mV33tv6DE4cs+J6x5eWK12hlW5BzQJ20lLV6GamfKW5IBr+m6aFRcGCt7"
    "dQJ8Y9rMIRy+tIWnhCP2uYyuwnpDNnm1TeDcvpZovvjxv+r3/mvcatxObYpdSpsvy8QenX"
    "yX1o9y5Yi+WnWmGRrCPp48JcmuTHEW3CM2nbTL8AxkrRzLS0XB1FXh3lfpPsda65+03kGU"
    "xN0zpnsot4BpNo2pYc7gZwuCOcLALnHF5hxxP78OkKmsAnUfMBj5Kye7S7BuH+vC2yu4vb"
    "CsK7j20x0rtm+M0l810y3yXzfb0QpGVk2AA57OCITAMp2DXibGJ85yxKs7E5sk2IZmwB9g"
    "pBdckWzouiN/4QwU572D1VxsCGN2jYbY9O3fNtbtB1/1N/8LV/qjjojvpUSID4qOSgbchO"
    "Edx5lxw0qXU15QSVckM4ojJykx+5Se6zXjN4k9zgvZsQr4zfcAaaSNvw3eMROdEI/9jE7A"
    "iEfz6jDDo0OOjgjP+COseGyn1Rty8iAw5FPDL2ytBS+2QDgea5vIetImeK01Y5271Tp4q7"
    "nyXw9ds3D97WfhF4aavs8bufglcmybPR3810qUySv0atZyXJUx5BkVwjcCYG0UzMe412iX"
    "xjm3VzsexltxbezDRjnE2G3J0xBnFxWDM52ws6aihc4ZHbayIVfz/Qji0vL5LA/grHM4zv"
    "uvfQ/b2Uuxir38tzGx+WLTUYNBXGf8w5mkYmUFf4M9k+pAtXCaz99iInRSrifdAqkvCgrb"
    "LfmdRKk8Ll7sDXFPO2oA6N+0qWd0K0gYreUdO7iMO1c4d4yxlecYZjh+g4K2S1mlQQEd/i"
    "Hqyr7lm396X8Lixf7lTxv92gz1eDs+5wyAqDrzeo97E/uGJl3hfGQLjo9T+xIv/bJvZsbf"
    "61hqU3a8ktWmts0ZKvj9gAw6lE0KdWtzMg+PN8zij7P8fhjDUTxtmUycpNJyu3mucRzvJN"
    "PMOKPcTynmIy0SP9DqYel6lSRetxSfniIIFdDj8K9OLH/SdV3MxgaTSaw65BrzbBUsLSrx"
    "dtksnkaW3ZwJfJm4pmeRSFih2+uD5OrJeGDieZXC4MVeK13GtsJ4+9B7yRUEXY3xvce98k"
    "uOqMH7UhtY9mKid45NXs5UWOQNhGmLDRa3mV+5r7M7OjRPd0beZuYMn2byIiDYwV1eLXsE"
    "lVAmGveQPRrScShxHx2FNxhP8YDvoZIbhQJOklUg9S+VsxDbu2TMfLOIgMjPzsUjKRtBd3"
    "+lgHnZdOhjz/H+vgfq4="
)
